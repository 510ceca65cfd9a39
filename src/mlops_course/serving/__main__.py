"""``python -m mlops_course.serving``: run the model API, with ``mlops-course serve``'s options."""

from mlops_course.serving.cli import main

if __name__ == "__main__":
    main()
