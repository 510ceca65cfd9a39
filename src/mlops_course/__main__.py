"""``python -m mlops_course`` runs the CLI, for environments where the script is not on PATH."""

from mlops_course.cli import app

app(prog_name="mlops-course")
