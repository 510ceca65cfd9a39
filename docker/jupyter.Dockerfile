# syntax=docker/dockerfile:1
#
# The course image: JupyterLab (the default command) with every pin of requirements.txt, also used
# for the MLflow server of docker-compose.yml. The model API has its own, smaller image
# (docker/api.Dockerfile). Build context is the repository root:
#   docker build -f docker/jupyter.Dockerfile -t mlops-course:local .
# docker/jupyter.Dockerfile.dockerignore keeps the context down to what the build copies.

# One pinned base for every stage: the venv built in `deps` links to this exact interpreter, so
# the stage that runs it must be the same image. Bump the tag here, and only here.
# BASE_IMAGE exists for machines that cannot pull it (the course's CI builds a stand-in from Debian
# packages with mmdebstrap, see mlops_course.containers); everyone else keeps the default.
ARG BASE_IMAGE=python:3.11.14-slim-bookworm
FROM ${BASE_IMAGE} AS base
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH


# deps: every pin of requirements.txt in /opt/venv, a stage of its own so that the runtime copies
# it from a layer that changes only with the pins, not with each edit of src/ (see api.Dockerfile).
FROM base AS deps
# Declared without a value, so they exist only when the build passes them: an offline build
# installs from a wheelhouse mounted at build time (--build-arg PIP_NO_INDEX=1
# --build-arg PIP_FIND_LINKS=/wheels), a build behind a proxy adds PIP_CERT. Build arguments
# never reach the final image's environment.
ARG PIP_NO_INDEX
ARG PIP_FIND_LINKS
ARG PIP_CERT
# Python 3.11's venv installs its bundled setuptools, unpinned and old (66.1 on Debian, 65.5 in
# python:3.11): replaced by the pin `make venv` installs (pyproject.toml's build-system pin), so
# the image holds exactly the packages of the course venv.
RUN python -m venv /opt/venv \
 && pip install --no-cache-dir pip==26.3 setuptools==80.9.0
WORKDIR /build
COPY requirements.txt ./
RUN pip install --no-cache-dir -r requirements.txt


# builder: the course wheel, checked against the pins, its files laid out in /opt/course as they
# go into the venv. Nothing else of this stage reaches the image.
FROM deps AS builder
ARG PIP_NO_INDEX
ARG PIP_FIND_LINKS
ARG PIP_CERT
# setup.py copies template/ (the learner's project template) into the package, so `mlops-course
# new` works in JupyterLab's terminal too.
COPY pyproject.toml README.md setup.py MANIFEST.in ./
COPY src ./src
COPY template ./template
# --no-deps: requirements.txt already installed the exact versions; pip must not resolve again.
RUN pip wheel --no-cache-dir --no-deps --wheel-dir /build/dist . \
 && pip install --no-cache-dir --no-deps /build/dist/mlops_course-*.whl \
 && pip check \
 && pip install --no-cache-dir --no-deps --ignore-installed --prefix /opt/course /build/dist/mlops_course-*.whl


# runtime: the venv and a non-root user; no compiler, no pip cache, no sources.
FROM base AS runtime
LABEL org.opencontainers.image.title="mlops-course" \
      org.opencontainers.image.description="JupyterLab and the MLflow server of the mlops-course book" \
      org.opencontainers.image.licenses="MIT"
# The course runs offline: MLflow must not phone home, and it must not warn about a missing git.
ENV MLFLOW_DISABLE_TELEMETRY=true \
    GIT_PYTHON_REFRESH=quiet
# uid 1000 matches the first user on most Linux hosts, so files written to the mounted repository
# stay owned by the learner.
RUN useradd --create-home --uid 1000 --user-group --shell /bin/bash mlops \
 && mkdir -p /home/mlops/course \
 && chown mlops:mlops /home/mlops/course
# The pins' layer first (reused while requirements.txt is unchanged), then the course package.
COPY --from=deps /opt/venv /opt/venv
COPY --from=builder /opt/course/ /opt/venv/
# Numeric, so Kubernetes' runAsNonRoot can verify it without reading /etc/passwd.
USER 1000:1000
WORKDIR /home/mlops/course
EXPOSE 8888 5000
# /api answers without a token, so the check needs no secret; compose overrides it for MLflow.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8888/api', timeout=4)"]
CMD ["jupyter", "lab", "--ip=0.0.0.0", "--port=8888", "--no-browser", "--ServerApp.root_dir=/home/mlops/course"]
