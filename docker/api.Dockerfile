# syntax=docker/dockerfile:1
#
# The model API image: `mlops-course serve` on port 8000, loading the model with the alias
# `champion` from the MLflow registry (MLOPS_TRACKING_URI). Build context is the repository root:
#   docker build -f docker/api.Dockerfile -t mlops-course-api:local .
# It installs only what serving needs (docker/api-requirements.txt, a checked subset of
# requirements.txt), not JupyterLab, DVC or the book's tools: a smaller image with fewer packages
# that could carry a vulnerability.

# One pinned base for every stage: the venv built in `builder` links to this exact interpreter.
# Keep the tag equal to the one in jupyter.Dockerfile (a test checks it).
FROM python:3.11.14-slim-bookworm AS base
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH


# builder: build the course wheel and install it with its pinned dependencies into /opt/venv.
FROM base AS builder
RUN python -m venv /opt/venv \
 && pip install --no-cache-dir pip==26.3
WORKDIR /build
# The pins first, on their own layer: editing src/ does not reinstall the dependencies.
# --no-deps: the file already lists every package with its exact version; pip check proves it.
COPY docker/api-requirements.txt ./
RUN pip install --no-cache-dir --no-deps -r api-requirements.txt
COPY pyproject.toml README.md ./
COPY src ./src
# The wheel is what a deployment installs: the same artefact tests/integration/test_wheel.py checks.
RUN pip wheel --no-cache-dir --no-deps --wheel-dir /build/dist . \
 && pip install --no-cache-dir --no-deps /build/dist/mlops_course-*.whl \
 && pip check


# runtime: the venv and a non-root user; no compiler, no pip cache, no sources, no secrets.
FROM base AS runtime
LABEL org.opencontainers.image.title="mlops-course-api" \
      org.opencontainers.image.description="The trip-duration model API of the mlops-course book" \
      org.opencontainers.image.licenses="MIT"
# Offline and quiet; the API reads the rest of its configuration from MLOPS_ variables at run time
# (MLOPS_TRACKING_URI, MLOPS_MODEL_NAME, MLOPS_MODEL_ALIAS, and the secret MLOPS_API_TOKEN, which is
# never baked into the image).
ENV MLFLOW_DISABLE_TELEMETRY=true \
    GIT_PYTHON_REFRESH=quiet \
    HOME=/tmp
# A system user without a login shell or home: the service writes only to /tmp (model downloads,
# library caches under HOME), which Kubernetes mounts as an emptyDir on a read-only root.
RUN useradd --system --no-create-home --uid 10001 --user-group --shell /usr/sbin/nologin api
COPY --from=builder /opt/venv /opt/venv
# Numeric, so Kubernetes' runAsNonRoot can verify it without reading /etc/passwd.
USER 10001:10001
WORKDIR /tmp
EXPOSE 8000
# Liveness only (/health answers while the process runs); /ready says whether a model is loaded.
# Python, because the slim image has no curl or wget.
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
  CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/health', timeout=4)"]
CMD ["mlops-course", "serve", "--host", "0.0.0.0", "--port", "8000"]
