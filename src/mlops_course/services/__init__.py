"""Start and stop the course's services (MLflow, the model API, Prometheus) as local processes.

This is the embedded default: no Docker engine and no cloud account, just processes bound to
loopback on free ports, so the same notebook runs in JupyterLab, under papermill, under pytest and
in the book build, even several at once.

- :mod:`.process`: the process machinery every service uses (:class:`Service`, :func:`start`);
- :mod:`.mlflow_server`: :func:`start_mlflow`, :func:`use_mlflow`;
- :mod:`.api`: :func:`start_api` (the course's model API), :func:`start_mlflow_serve`;
- :mod:`.prometheus`: :func:`start_prometheus` with the compose stack's config and rules;
- :mod:`.state`: the services ``mlops-course services up`` leaves running;
- :mod:`.traffic`: :func:`~.traffic.send_traffic`, generated load for a running API.
"""

from mlops_course.services.api import start_api, start_mlflow_serve
from mlops_course.services.mlflow_server import (
    mlflow_command,
    start_mlflow,
    use_mlflow,
    user_cache_dir,
)
from mlops_course.services.process import (
    Service,
    ServiceError,
    free_port,
    service_env,
    start,
    stop_all,
)
from mlops_course.services.prometheus import (
    course_prometheus_config,
    render_prometheus_config,
    start_prometheus,
)
from mlops_course.services.state import read_state, write_state

__all__ = [
    "Service",
    "ServiceError",
    "course_prometheus_config",
    "free_port",
    "mlflow_command",
    "read_state",
    "render_prometheus_config",
    "service_env",
    "start",
    "start_api",
    "start_mlflow",
    "start_mlflow_serve",
    "start_prometheus",
    "stop_all",
    "use_mlflow",
    "user_cache_dir",
    "write_state",
]
