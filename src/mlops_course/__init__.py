"""The shared package of the mlops-course book.

Every notebook, lab, test and service imports this package, so the lifecycle logic lives in one
tested place and the notebooks stay thin enough to read.
"""

import os

# MLflow phones home unless told not to; the course runs offline, so the default is set before any
# module imports mlflow. A learner may still override it in their environment.
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
# Artifact download progress bars are noise in notebook outputs and logs.
os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")

__version__ = "0.1.0"
