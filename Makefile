# Every target sets itself up: a fresh clone needs only Python 3.11, make and git.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# What the venv installs: the lock. `make test-newest` runs the same checks with REQUIREMENTS set to
# requirements.in without its pins (the newest releases) in a venv of its own.
REQUIREMENTS ?= requirements.txt
# Like an activated venv: notebooks and tests find `mlops-course`, `mlflow` and `dvc` on the PATH.
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)
export MLFLOW_DISABLE_TELEMETRY := true
export MLFLOW_SERVER_ENABLE_JOB_EXECUTION := false
export PYDEVD_DISABLE_FILE_VALIDATION := 1

# jupyter-cache hashes only code cells: when the package, the pins or the book config change, the
# cached notebook outputs are stale, so the cache is keyed on a hash of what they depend on. Sphinx
# would not even re-read an unchanged notebook, so its environment (.doctrees) goes too. A change to
# a local Sphinx extension (book/_ext) only changes rendering: it clears .doctrees, not the cache.
CACHE_KEY_SOURCES := $(shell find src -name '*.py' 2>/dev/null | sort) $(REQUIREMENTS) _config.yml
DOCTREE_KEY_SOURCES := $(shell find book/_ext -name '*.py' 2>/dev/null | sort)
JB_CACHE := _build/.jupyter_cache
define CLEAR_STALE_BUILD
@mkdir -p _build
@key=$$(cat $(CACHE_KEY_SOURCES) | sha256sum | cut -c1-16); \
if [ "$$(cat _build/.cache-key 2>/dev/null)" != "$$key" ]; then \
  echo "package or pins changed: clearing the notebook cache"; rm -rf $(JB_CACHE) _build/.doctrees; \
  echo $$key > _build/.cache-key; fi; \
ext=$$(cat $(DOCTREE_KEY_SOURCES) | sha256sum | cut -c1-16); \
if [ "$$(cat _build/.doctree-key 2>/dev/null)" != "$$ext" ]; then \
  rm -rf _build/.doctrees; echo $$ext > _build/.doctree-key; fi
endef

.PHONY: containers containers-test help venv book book-stored test test-newest check types lint format unit integration template grading labs-check notebooks-test static book-test pipeline lab up down lock notebooks clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-16s %s\n", $$1, $$2}'

# uv installs the lock: the same pins, resolved and checked the same way, in a fraction of pip's time
# (benchmarks/results/ci.json: seconds_fresh_venv). It compiles the bytecode as pip does, so
# imports stay fast where PYTHONDONTWRITEBYTECODE is set. pip stays in the venv, pinned, for
# learners and for the container wheelhouse (`pip download`).
UV_PIN := uv==0.13.9
UV_INSTALL = $(BIN)/uv pip install --quiet --compile-bytecode --python $(BIN)/python

$(STAMP): $(REQUIREMENTS) pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check $(UV_PIN)
	$(UV_INSTALL) pip==26.3 setuptools==80.9.0 -r $(REQUIREMENTS)
	$(UV_INSTALL) --no-deps -e .
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (mlops-course)" >/dev/null
	touch $@

venv: $(STAMP) ## create .venv from the pinned requirements and install the course package

book: $(STAMP) ## execute every notebook in the toc and build the site into _build/html
	$(CLEAR_STALE_BUILD)
	$(BIN)/jupyter-book build . --warningiserror --nitpick --keep-going

# make test runs every pytest suite below in ONE session spread over pytest-xdist workers (one per
# core): a file (or a lab, see tests/conftest.py) is a unit of work, handed out in the order of
# TEST_PATHS, slowest first, so both cores stay busy to the end. Run alone, each suite is its own
# target. One thread per process: two workers each fitting models with two OpenMP threads
# oversubscribe two cores (a half-second fit took twenty seconds); the results are identical.
# The session also starts a fork server (src/mlops_course/forkserver.py, tests/conftest.py): the
# MLflow servers, APIs and `mlops-course` steps it starts are forks of one interpreter that has
# imported them, not new interpreters that each import MLflow and scikit-learn again.
# `MLOPS_FORKSERVER=off make test` starts every one as an ordinary process.
JOBS ?= $(shell $(PYTHON) -c 'import os; print(os.cpu_count() or 1)')
XDIST = --numprocesses $(JOBS) --dist loadfile --no-loadscope-reorder
NBVAL = --nbval --nbval-sanitize-with tests/notebooks/sanitize.cfg
TEST_PATHS := tests/containers tests/grading notebooks tests/integration tests/notebooks tests/template tests/static \
  tests/model tests/unit tests/book
SUITES := unit integration model-tests template grading notebooks-test static book-test containers-test
PYTEST = OMP_NUM_THREADS=1 $(BIN)/pytest $(XDIST)

test: $(STAMP) lint labs-check book-stored ## run every check (what CI runs): the suites of SUITES in one parallel session
	$(PYTEST) $(NBVAL) $(TEST_PATHS)

# The weekly .github/workflows/newest-deps.yml: will the next `make lock` still pass? Every check of
# `make test`, run against today's newest releases of requirements.in's packages instead of the
# lock, in a fresh .venv-newest (the lock's .venv is untouched). The installed versions are
# listed first, so a failure names the release that broke it.
NEWEST_VENV := .venv-newest
NEWEST_REQUIREMENTS := $(NEWEST_VENV)/requirements-newest.txt

$(NEWEST_REQUIREMENTS): requirements.in
	@mkdir -p $(@D)
	sed -E 's/[[:space:]]*==[^;#[:space:]]*//' requirements.in > $@

test-newest: ## make test against the newest releases (requirements.in without pins), in .venv-newest
	rm -rf $(NEWEST_VENV)
	$(MAKE) venv VENV=$(NEWEST_VENV) REQUIREMENTS=$(NEWEST_REQUIREMENTS)
	$(NEWEST_VENV)/bin/pip list --format=freeze --exclude-editable
	$(MAKE) test VENV=$(NEWEST_VENV) REQUIREMENTS=$(NEWEST_REQUIREMENTS)

# The edit-test loop: what a change most often breaks, in well under a minute (the whole of
# `make test` stays the proof before a push). pre-commit runs the same checks on each commit.
check: $(STAMP) lint types labs-check ## fast checks for the edit loop: lint, types, unit tests, package structure, labs
	$(PYTEST) tests/unit tests/static/test_package_structure.py

types: $(STAMP) ## mypy on src/ (also run by make test, in tests/static/test_types.py)
	$(BIN)/mypy

lint: $(STAMP) ## ruff lint and format check
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP) ## apply ruff fixes and formatting
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

unit: $(STAMP) ## fast tests of the package, no servers
	$(PYTEST) tests/unit

integration: $(STAMP) ## tests against real servers on loopback
	$(PYTEST) tests/integration

template: $(STAMP) ## the project template: generate every option, run its tests, validate, update
	$(PYTEST) tests/template

labs-check: $(STAMP) ## fail when labs/ is not what solutions/ generate
	$(BIN)/mlops-course labs generate --check

grading: $(STAMP) ## lab generation and grading: solutions 100%, untouched labs 0%, bad files
	$(PYTEST) tests/grading

notebooks-test: $(STAMP) ## nbval on notebooks/ and the tour's own tests (papermill, stored-output claims, nbval tamper)
	$(PYTEST) $(NBVAL) notebooks tests/notebooks

containers-test: $(STAMP) ## build the images (cached) and run them: non-root, healthcheck, ready, secrets, pins
	$(PYTEST) tests/containers

containers: $(STAMP) ## build every image from scratch, time builds and starts (benchmarks/results/containers.json), run the container tests
	$(BIN)/python benchmarks/containers.py

static: $(STAMP) ## schema checks of docker/ and .github/
	$(PYTEST) tests/static

# make test has just executed every notebook under nbval and proved that a fresh run gives the
# stored outputs, so its book build renders those stored outputs instead of executing all of the
# notebooks a second time (about 4 minutes of a 2-core CI run). `make book` still executes, cached.
book-stored: $(STAMP) ## build the site from the notebooks' stored outputs (no execution)
	$(CLEAR_STALE_BUILD)
	@sed 's/^  execute_notebooks: cache$$/  execute_notebooks: "off"/' _config.yml > .book-stored.yml
	@grep -q 'execute_notebooks: "off"' .book-stored.yml || { echo "_config.yml: execute_notebooks not found"; exit 1; }
	$(BIN)/jupyter-book build . --config .book-stored.yml --warningiserror --nitpick --keep-going; \
	  status=$$?; rm -f .book-stored.yml; exit $$status

book-test: book-stored ## build the site from the stored outputs, then check it in a browser
	$(PYTEST) tests/book

pipeline: $(STAMP) ## run the running example's DVC pipeline (dvc.yaml, params.yaml)
	DVC_NO_ANALYTICS=1 $(BIN)/dvc repro

lab: $(STAMP) ## open JupyterLab with the course kernel
	$(BIN)/jupyter lab --notebook-dir=.

up: ## start the docker-compose stack (needs a Docker engine)
	docker compose -f docker/docker-compose.yml up -d --build

down: ## stop the docker-compose stack
	docker compose -f docker/docker-compose.yml down

notebooks: $(STAMP) ## re-execute notebooks/ in place to refresh their stored outputs
	for nb in notebooks/*.ipynb notebooks/*/*.ipynb; do \
	  $(BIN)/jupyter nbconvert --to notebook --execute --inplace --ExecutePreprocessor.timeout=600 "$$nb"; done

# --all: plain `pip freeze` leaves out wheel, which sphinx-togglebutton requires, so an image
# installing the lock with --no-index failed. pip and setuptools are pinned by make venv and the
# Dockerfiles themselves (setuptools also by pyproject.toml's build-system).
lock: ## resolve requirements.in into a fully pinned requirements.txt in a throwaway venv
	rm -rf /tmp/mlops-course-lock && $(PYTHON) -m venv /tmp/mlops-course-lock
	/tmp/mlops-course-lock/bin/pip install --quiet -r requirements.in
	( echo "# Generated by 'make lock' from requirements.in; do not edit by hand."; \
	  /tmp/mlops-course-lock/bin/pip freeze --all --exclude-editable | grep -v -E '^(pip|setuptools)==' ) > requirements.txt

clean: ## remove the build and the local service state
	rm -rf _build .mlops

# --- Stage 3: the ML pipeline's steps, exactly as the CI pipelines call them --------------------
# .github/workflows/ml-pipeline.yml, ci/.gitlab-ci.yml and ci/Jenkinsfile run only these targets
# (and `make pipeline`); tests/static/test_ci_pipelines.py checks that every one of them exists.
API_DOCKERFILE ?= docker/api.Dockerfile
IMAGE ?= mlops-course-api:dev
K8S_DIR ?= docker/kubernetes
K8S_NAMESPACE ?= mlops-course
# Each environment is its own cluster (its own credentials); staging serves the challenger.
DEPLOY_ENV ?= staging
MODEL_ALIAS = $(if $(filter staging,$(DEPLOY_ENV)),challenger,champion)
GATE_FLAGS ?=

.PHONY: model-tests model-checks gate promote image image-push deploy

model-tests: $(STAMP) ## data, model and API contract tests (tests/model)
	$(PYTEST) tests/model

model-checks: $(STAMP) ## behavioural checks of the pipeline's model (models/model.skops)
	$(BIN)/mlops-course gate checks

gate: $(STAMP) ## quality gate: the pipeline's model vs the registry's champion (GATE_FLAGS)
	$(BIN)/mlops-course gate run $(GATE_FLAGS)

promote: $(STAMP) ## make the registry's challenger the champion (after approval)
	$(BIN)/mlops-course gate promote

image: ## build the model API image as IMAGE (needs a Docker engine)
	docker build --file $(API_DOCKERFILE) --tag $(IMAGE) .

image-push: image ## build and push IMAGE to its registry (log in first)
	docker push $(IMAGE)

# The same steps on this machine, no cluster and no hosted runner: each environment is a pod of
# the same manifests (podman kube play) reading the registry at MLOPS_TRACKING_URI, the one the
# gate promotes in (mlops_course.containers.delivery; tests/containers/test_delivery.py runs them).
LOCAL_IMAGE ?= localhost/mlops-course-api:local
EXPECT_VERSION ?=

.PHONY: image-local deploy-local smoke-local

image-local: $(STAMP) ## build the API image with podman or Docker, offline where possible
	$(BIN)/mlops-course containers build api

deploy-local: $(STAMP) ## deploy LOCAL_IMAGE to DEPLOY_ENV as a local pod (needs MLOPS_TRACKING_URI)
	$(BIN)/mlops-course containers deploy $(DEPLOY_ENV) --image $(LOCAL_IMAGE)

smoke-local: $(STAMP) ## smoke-test the local DEPLOY_ENV (EXPECT_VERSION: the version it must serve)
	$(BIN)/mlops-course containers smoke $(DEPLOY_ENV) $(if $(EXPECT_VERSION),--expect-version $(EXPECT_VERSION))

# CI hands the cluster credentials over as a base64 secret (KUBE_CONFIG_B64), written to KUBECONFIG.
# One apply of a throw-away overlay (ci/deploy-overlay.sh): the image, the alias, and the registry
# the gate promotes in (MLFLOW_TRACKING_URI), so the rollout happens once and serves what it moved.
deploy: ## roll IMAGE out to DEPLOY_ENV's cluster (staging or production; needs kubectl)
	@if [ -n "$$KUBE_CONFIG_B64" ]; then umask 077; \
	  base64 --decode <<< "$$KUBE_CONFIG_B64" > "$${KUBECONFIG:?set KUBECONFIG to a file path}"; fi
	@overlay="$$(mktemp -d)" && trap 'rm -rf "$$overlay"' EXIT && \
	  sh ci/deploy-overlay.sh "$(abspath $(K8S_DIR))" "$(IMAGE)" "$(MODEL_ALIAS)" > "$$overlay/kustomization.yaml" && \
	  kubectl apply --kustomize "$$overlay"
	kubectl --namespace $(K8S_NAMESPACE) rollout status deployment/mlops-api --timeout=300s
