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
# BASE_IMAGE exists for machines that cannot pull it (the course's CI builds a stand-in from Debian
# packages with mmdebstrap, see mlops_course.containers); everyone else keeps the default.
ARG BASE_IMAGE=python:3.11.14-slim-bookworm
FROM ${BASE_IMAGE} AS base
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH


# deps: the pinned dependencies in /opt/venv, a stage of their own so that the runtime copies them
# from a layer that changes only with the pins (a first version copied one venv built with the
# package: every edit of src/ then copied and committed its 900 MB again, 1-2 minutes a build).
FROM base AS deps
# Declared without a value, so they exist only when the build passes them: an offline build
# installs from a wheelhouse mounted at build time (--build-arg PIP_NO_INDEX=1
# --build-arg PIP_FIND_LINKS=/wheels), a build behind a proxy adds PIP_CERT. Build arguments
# never reach the final image's environment.
ARG PIP_NO_INDEX
ARG PIP_FIND_LINKS
ARG PIP_CERT
# Python 3.11's venv also installs its bundled setuptools, unpinned and old (66.1 on Debian, 65.5
# in python:3.11): the API never imports it and the wheel is built in an isolated environment,
# so it goes. Every package left in the image is a pin of api-requirements.txt (or pip itself).
RUN python -m venv /opt/venv \
 && pip install --no-cache-dir pip==26.3 \
 && pip uninstall --yes --no-cache-dir setuptools
WORKDIR /build
# --no-deps: the file already lists every package with its exact version; pip check proves it.
COPY docker/api-requirements.txt ./
RUN pip install --no-cache-dir --no-deps -r api-requirements.txt


# builder: build the course wheel, check it against the pins, and lay out its files in /opt/course
# exactly as they go into the venv (site-packages, and the `mlops-course` script in bin/).
FROM deps AS builder
ARG PIP_NO_INDEX
ARG PIP_FIND_LINKS
ARG PIP_CERT
# setup.py copies template/ (the learner's project template) into the wheel as package data.
COPY pyproject.toml README.md setup.py MANIFEST.in ./
COPY src ./src
COPY template ./template
# The wheel is what a deployment installs: the same artefact tests/integration/test_wheel.py checks.
# --prefix writes the same files as an install into the venv (the script's first line names the
# venv's python), into a folder that holds nothing else.
RUN pip wheel --no-cache-dir --no-deps --wheel-dir /build/dist . \
 && pip install --no-cache-dir --no-deps /build/dist/mlops_course-*.whl \
 && pip check \
 && pip install --no-cache-dir --no-deps --ignore-installed --prefix /opt/course /build/dist/mlops_course-*.whl


# runtime: the venv and a non-root user; no compiler, no pip cache, no sources, no secrets.
FROM base AS runtime
LABEL org.opencontainers.image.title="mlops-course-api" \
      org.opencontainers.image.description="The trip-duration model API of the mlops-course book" \
      org.opencontainers.image.licenses="MIT"
# Offline and quiet; the API reads the rest of its configuration from MLOPS_ variables at run time
# (MLOPS_TRACKING_URI, MLOPS_MODEL_NAME, MLOPS_MODEL_ALIAS). The reload token is never baked in:
# it comes at run time from a mounted secret file (MLOPS_API_TOKEN_FILE) or MLOPS_API_TOKEN.
ENV MLFLOW_DISABLE_TELEMETRY=true \
    GIT_PYTHON_REFRESH=quiet \
    HOME=/tmp
# A system user without a login shell or home: the service writes only to /tmp (model downloads,
# library caches under HOME), which Kubernetes mounts as an emptyDir on a read-only root.
# /run/secrets: where secrets are mounted as files (podman's --secret). A read-only root cannot
# grow a mount point, so the folder is made here; podman also needs a tmpfs over it (--tmpfs
# /run/secrets) to place the files on a --read-only container.
RUN useradd --system --no-create-home --uid 10001 --user-group --shell /usr/sbin/nologin api \
 && mkdir -p /run/secrets
# The pins' layer first (reused while api-requirements.txt is unchanged), then the course package.
COPY --from=deps /opt/venv /opt/venv
COPY --from=builder /opt/course/ /opt/venv/
# Numeric, so Kubernetes' runAsNonRoot can verify it without reading /etc/passwd.
USER 10001:10001
WORKDIR /tmp
EXPOSE 8000
# Liveness only (/health answers while the process runs); /ready says whether a model is loaded.
# Python's standard library (mlops_course.serving.healthcheck), because the image has no curl.
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
  CMD ["python", "-m", "mlops_course.serving.healthcheck"]
CMD ["mlops-course", "serve", "--host", "0.0.0.0", "--port", "8000"]
