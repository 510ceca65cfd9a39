"""The instructor workflow: student labs generated from solution notebooks, and grading.

The conventions are nbgrader's (``### BEGIN SOLUTION`` / ``### END SOLUTION`` regions, graded cells
with points), so instructors who know nbgrader feel at home; the implementation is a small layer on
nbformat and nbclient, because nbgrader's own pins (its database and server extensions) clash
with the course's.
"""
