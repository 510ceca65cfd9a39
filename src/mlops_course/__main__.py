"""``mlops-course`` and ``python -m mlops_course``: run the CLI.

The entry point imports nothing but the standard library before it knows where the command runs:
under ``make test`` a fork server has the whole package imported already (:mod:`.forkserver`),
and the command runs as a fork of it; anywhere else it runs here, as an ordinary process.
"""

import sys

from mlops_course import forkserver


def main() -> None:
    """Run ``mlops-course`` with ``sys.argv``: as a fork when make test's server is there."""
    forkserver.run("mlops_course", sys.argv)  # returns only if there is no server to run it
    from mlops_course.cli import app

    app(prog_name="mlops-course")


if __name__ == "__main__":
    main()
