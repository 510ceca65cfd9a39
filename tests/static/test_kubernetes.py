"""Static checks of docker/kubernetes/: the API and MLflow manifests, without a cluster.

kubernetes-validate checks every resource against the OpenAPI schemas of Kubernetes releases that
ship inside the package (nothing is fetched: the conftest's network guard would fail the test),
in strict mode, so a misspelt field is an error rather than silently ignored. The rules below check
what no schema can: that the probes hit routes the API really has, on the port it really listens
on; that the Service and the autoscaler find the Deployment; that the images are pinned; and that
the pods run as the non-root users of the Dockerfiles.
"""

from __future__ import annotations

import copy
import json
import re
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
MANIFEST_DIR = REPO_ROOT / "docker" / "kubernetes"
KUSTOMIZATION = MANIFEST_DIR / "kustomization.yaml"
# The newest release the validator knows, and the oldest one the managed services (EKS, GKE, AKS)
# still offer in standard support at the time of writing: the manifests must suit both.
KUBERNETES_VERSIONS = ["1.32.0", "1.37.0"]
DOCKERFILES = {
    "mlops-course-api": REPO_ROOT / "docker" / "api.Dockerfile",
    "mlops-course": REPO_ROOT / "docker" / "jupyter.Dockerfile",
}

Resource = dict[str, Any]


# --- helpers -------------------------------------------------------------------------------------


def manifest_files() -> list[Path]:
    """The resource files: every YAML file here except the kustomization itself."""
    return sorted(path for path in MANIFEST_DIR.glob("*.yaml") if path != KUSTOMIZATION)


def load_resources(files: list[Path] | None = None) -> list[Resource]:
    resources = []
    for path in files or manifest_files():
        for document in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            if document:
                resources.append(document)
    return resources


def find(resources: list[Resource], kind: str, name: str) -> Resource:
    for resource in resources:
        if resource["kind"] == kind and resource["metadata"]["name"] == name:
            return resource
    raise AssertionError(f"no {kind} named {name!r} in {MANIFEST_DIR}")


def of_kind(resources: list[Resource], kind: str) -> list[Resource]:
    return [resource for resource in resources if resource["kind"] == kind]


def containers(deployment: Resource) -> list[dict[str, Any]]:
    return deployment["spec"]["template"]["spec"]["containers"]


def resolve_port(container: dict[str, Any], port: int | str) -> int | None:
    """A probe's or Service's port (a number or a container port's name) as a number."""
    for declared in container.get("ports", []):
        if port in (declared["containerPort"], declared.get("name")):
            return declared["containerPort"]
    return None


def flag(command: list[str], name: str) -> str | None:
    return command[command.index(name) + 1] if name in command else None


def api_routes() -> set[str]:
    """The paths the API serves, from the FastAPI app itself (no model is loaded to build it)."""
    from mlops_course.serving.app import create_app
    from mlops_course.serving.settings import ServingSettings

    app = create_app(ServingSettings(tracking_uri="http://127.0.0.1:9"))
    return set(app.openapi()["paths"])  # app.routes nests the included routers


def dockerfile_final(path: Path, keyword: str) -> list[str]:
    """The arguments of each `keyword` instruction in the final stage of a Dockerfile."""
    text = re.sub(r"\\\n", " ", path.read_text(encoding="utf-8"))
    final = text.split("\nFROM ")[-1]
    return [
        line.split(None, 1)[1]
        for line in final.splitlines()
        if line.startswith(keyword + " ") and not line.startswith("#")
    ]


# --- rules: each returns the problems it finds, so it can be proven on a broken copy too ---------


def probes_off_the_api(resources: list[Resource]) -> list[str]:
    """Readiness on /ready, liveness on /health: the routes the API defines, on its port."""
    problems = []
    routes = api_routes()
    container = containers(find(resources, "Deployment", "mlops-api"))[0]
    expected = {"readinessProbe": "/ready", "livenessProbe": "/health", "startupProbe": "/health"}
    port = int(flag(container.get("command", []), "--port") or 0)
    for probe_name, path in expected.items():
        probe = container.get(probe_name)
        if probe is None:
            if probe_name != "startupProbe":
                problems.append(f"the api container has no {probe_name}")
            continue
        get = probe.get("httpGet", {})
        if get.get("path") != path or path not in routes:
            problems.append(f"{probe_name} checks {get.get('path')!r}, expected {path!r}")
        if resolve_port(container, get.get("port")) != port:
            problems.append(f"{probe_name} checks port {get.get('port')!r}; the API is on {port}")
    return problems


def services_that_select_nothing(resources: list[Resource]) -> list[str]:
    """A Service whose selector matches no pod template, or whose targetPort is not a port of it,
    sends every request into the void."""
    problems = []
    deployments = of_kind(resources, "Deployment")
    for service in of_kind(resources, "Service"):
        selector = service["spec"].get("selector", {})
        matched = [
            d
            for d in deployments
            if selector.items() <= d["spec"]["template"]["metadata"]["labels"].items()
        ]
        name = service["metadata"]["name"]
        if not selector or not matched:
            problems.append(f"Service {name} selects no Deployment's pods ({selector})")
            continue
        for port in service["spec"]["ports"]:
            target = port.get("targetPort", port["port"])
            if resolve_port(containers(matched[0])[0], target) is None:
                problems.append(f"Service {name}: targetPort {target!r} is no container port")
    return problems


def deployments_whose_selector_misses_their_pods(resources: list[Resource]) -> list[str]:
    """The API server rejects these at apply time; the schema does not."""
    return [
        f"Deployment {d['metadata']['name']}: selector does not match its pod labels"
        for d in of_kind(resources, "Deployment")
        if not (
            d["spec"]["selector"]["matchLabels"].items()
            <= d["spec"]["template"]["metadata"]["labels"].items()
        )
    ]


def autoscalers_without_target(resources: list[Resource]) -> list[str]:
    """The HPA must scale a Deployment that exists, on CPU, whose containers request CPU (the
    utilization target is a percentage of the request)."""
    problems = []
    for hpa in of_kind(resources, "HorizontalPodAutoscaler"):
        ref = hpa["spec"]["scaleTargetRef"]
        targets = [
            d
            for d in of_kind(resources, ref["kind"])
            if d["metadata"]["name"] == ref["name"] and ref["apiVersion"] == d["apiVersion"]
        ]
        if not targets:
            problems.append(f"HPA {hpa['metadata']['name']} targets missing {ref}")
            continue
        for container in containers(targets[0]):
            if "cpu" not in container.get("resources", {}).get("requests", {}):
                problems.append(f"{ref['name']}/{container['name']} requests no CPU")
        if hpa["spec"].get("minReplicas", 1) < 2:
            problems.append("minReplicas < 2: one pod is a single point of failure")
    return problems


def unpinned_or_unknown_images(resources: list[Resource]) -> list[str]:
    """Images need a version tag, and must be one of the course's own two images."""
    problems = []
    for deployment in of_kind(resources, "Deployment"):
        for container in containers(deployment):
            name, _, tag = container["image"].rpartition(":")
            if not name or tag in {"", "latest"} or "/" in tag:
                problems.append(f"{container['name']}: image {container['image']} has no tag")
            elif name.rsplit("/", 1)[-1] not in DOCKERFILES:
                problems.append(f"{container['name']}: {name} is not built from docker/")
    return problems


def unsafe_or_unbounded_containers(resources: list[Resource]) -> list[str]:
    """Every container: requests and limits, non-root as the image's USER, read-only root with a
    writable /tmp, no privilege escalation, no capabilities."""
    problems = []
    for deployment in of_kind(resources, "Deployment"):
        pod = deployment["spec"]["template"]["spec"]
        pod_security = pod.get("securityContext", {})
        for container in pod["containers"]:
            label = f"{deployment['metadata']['name']}/{container['name']}"
            resources_ = container.get("resources", {})
            for part in ("requests", "limits"):
                if not {"cpu", "memory"} <= set(resources_.get(part, {})):
                    problems.append(f"{label}: no cpu and memory {part}")
            security = {**pod_security, **container.get("securityContext", {})}
            if security.get("runAsNonRoot") is not True:
                problems.append(f"{label}: runAsNonRoot is not true")
            if security.get("readOnlyRootFilesystem") is not True:
                problems.append(f"{label}: the root filesystem is writable")
            if security.get("allowPrivilegeEscalation") is not False:
                problems.append(f"{label}: privilege escalation is allowed")
            if security.get("capabilities", {}).get("drop") != ["ALL"]:
                problems.append(f"{label}: capabilities are not dropped")
            mounts = {mount["mountPath"] for mount in container.get("volumeMounts", [])}
            if "/tmp" not in mounts:
                problems.append(f"{label}: read-only root but no writable /tmp")
            image = container["image"].rpartition(":")[0].rsplit("/", 1)[-1]
            if image in DOCKERFILES:
                user = dockerfile_final(DOCKERFILES[image], "USER")[-1].split(":")[0]
                if str(security.get("runAsUser")) != user:
                    problems.append(
                        f"{label}: runAsUser {security.get('runAsUser')} is not the image's {user}"
                    )
    return problems


def api_cannot_reach_mlflow(resources: list[Resource]) -> list[str]:
    """The API's tracking URI names the mlflow Service and its port, and MLflow accepts that Host
    header (MLflow 3 rejects unknown hosts with 403)."""
    config = find(resources, "ConfigMap", "api-config")["data"]
    uri = re.fullmatch(r"http://([a-z0-9.-]+):(\d+)", config.get("MLOPS_TRACKING_URI", ""))
    if uri is None:
        return [f"MLOPS_TRACKING_URI {config.get('MLOPS_TRACKING_URI')!r} is not http://host:port"]
    host, port = uri.group(1), int(uri.group(2))
    problems = []
    service = find(resources, "Service", "mlflow")
    if host.split(".")[0] != service["metadata"]["name"]:
        problems.append(f"the API looks for MLflow at {host}, the Service is mlflow")
    if port not in [p["port"] for p in service["spec"]["ports"]]:
        problems.append(f"the API uses port {port}; the mlflow Service offers another")
    command = containers(find(resources, "Deployment", "mlflow"))[0]["command"]
    allowed = (flag(command, "--allowed-hosts") or "").split(",")
    if f"{host}:{port}" not in allowed:
        problems.append(f"mlflow --allowed-hosts lacks {host}:{port}: the API would get 403")
    deployment = find(resources, "Deployment", "mlops-api")
    referenced = {
        source["configMapRef"]["name"]
        for container in containers(deployment)
        for source in container.get("envFrom", [])
        if "configMapRef" in source
    }
    if "api-config" not in referenced:
        problems.append("the API Deployment does not read the api-config ConfigMap")
    return problems


def unknown_settings(resources: list[Resource]) -> list[str]:
    """pydantic-settings ignores an MLOPS_ variable it does not know: a typo in the ConfigMap
    would silently leave the default in place."""
    from mlops_course.serving.settings import ServingSettings
    from mlops_course.settings import Settings

    fields = set(ServingSettings.model_fields) | set(Settings.model_fields)
    known = {f"MLOPS_{name.upper()}" for name in fields}
    names = [
        key
        for config in of_kind(resources, "ConfigMap")
        for key in config.get("data", {})
        if key.startswith("MLOPS_")
    ]
    names += [
        var["name"]
        for deployment in of_kind(resources, "Deployment")
        for container in containers(deployment)
        for var in container.get("env", [])
        if var["name"].startswith("MLOPS_")
    ]
    return [
        f"{name} is not a setting of the course or the API" for name in names if name not in known
    ]


def secrets_in_plain_sight(resources: list[Resource]) -> list[str]:
    """The token comes from a Secret (created by hand, never committed), not from a value."""
    problems = [
        f"a Secret {r['metadata']['name']} is committed to the repository"
        for r in of_kind(resources, "Secret")
    ]
    for deployment in of_kind(resources, "Deployment"):
        for container in containers(deployment):
            for var in container.get("env", []):
                if re.search(r"TOKEN|PASSWORD|SECRET", var["name"]) and "value" in var:
                    problems.append(f"{var['name']} has a literal value in {container['name']}")
    for config in of_kind(resources, "ConfigMap"):
        problems += [
            f"ConfigMap {config['metadata']['name']} holds {key}"
            for key in config.get("data", {})
            if re.search(r"TOKEN|PASSWORD|SECRET", key)
        ]
    return problems


RULES: list[Callable[[list[Resource]], list[str]]] = [
    probes_off_the_api,
    services_that_select_nothing,
    deployments_whose_selector_misses_their_pods,
    autoscalers_without_target,
    unpinned_or_unknown_images,
    unsafe_or_unbounded_containers,
    api_cannot_reach_mlflow,
    unknown_settings,
    secrets_in_plain_sight,
]


def broken_resources() -> list[Resource]:
    """A copy of the manifests that breaks every rule once, to prove no rule is vacuous."""
    resources = copy.deepcopy(load_resources())
    api = containers(find(resources, "Deployment", "mlops-api"))[0]
    api["readinessProbe"]["httpGet"]["path"] = "/readyz"  # no such route
    api["resources"].pop("limits")
    api["image"] = "mlops-course-api:latest"
    api["env"].append({"name": "MLOPS_API_TOKEN", "value": "hunter2"})
    find(resources, "Service", "api")["spec"]["selector"] = {"app": "api"}  # labels differ
    mlflow = find(resources, "Deployment", "mlflow")
    mlflow["spec"]["selector"]["matchLabels"]["app.kubernetes.io/component"] = "server"
    find(resources, "HorizontalPodAutoscaler", "mlops-api")["spec"]["scaleTargetRef"]["name"] = (
        "api"
    )
    config = find(resources, "ConfigMap", "api-config")["data"]
    config["MLOPS_TRACKING_URI"] = "http://mlflow:80"
    config["MLOPS_MODEL_ALAIS"] = config.pop("MLOPS_MODEL_ALIAS")
    return resources


# --- tests ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
@pytest.mark.parametrize("path", manifest_files(), ids=lambda path: path.name)
def test_manifest_matches_the_kubernetes_schema(path: Path, version: str) -> None:
    """Strict: an unknown or misplaced field is an error, as `kubectl apply --validate` says."""
    for resource in load_resources([path]):
        kubernetes_validate.validate(resource, version, strict=True)


def test_validator_rejects_a_broken_manifest() -> None:
    """Proves the schema check is live: a misspelt field and a port that is not a number."""
    deployment = copy.deepcopy(find(load_resources(), "Deployment", "mlops-api"))
    container = containers(deployment)[0]
    container["readinessProbe"]["httpGet"]["pathh"] = "/ready"
    with pytest.raises(kubernetes_validate.ValidationError, match="pathh"):
        kubernetes_validate.validate(deployment, KUBERNETES_VERSIONS[-1], strict=True)
    del container["readinessProbe"]["httpGet"]["pathh"]
    container["ports"][0]["containerPort"] = "8000"
    with pytest.raises(kubernetes_validate.ValidationError, match="8000"):
        kubernetes_validate.validate(deployment, KUBERNETES_VERSIONS[-1], strict=True)


@pytest.mark.parametrize("rule", RULES, ids=lambda rule: rule.__name__)
def test_manifest_rule_holds(rule: Callable[[list[Resource]], list[str]]) -> None:
    assert rule(load_resources()) == []


@pytest.mark.parametrize("rule", RULES, ids=lambda rule: rule.__name__)
def test_manifest_rule_catches_a_broken_copy(rule: Callable[[list[Resource]], list[str]]) -> None:
    """Each rule finds its planted fault: a rule that cannot fail checks nothing."""
    assert rule(broken_resources()), f"{rule.__name__} found nothing wrong in broken manifests"


def test_the_manifests_describe_the_whole_service() -> None:
    """What the issue asks for, by kind: the API (Deployment, Service, HPA) and MLflow."""
    resources = load_resources()
    kinds = {(r["kind"], r["metadata"]["name"]) for r in resources}
    assert {
        ("Namespace", "mlops-course"),
        ("Deployment", "mlops-api"),
        ("Service", "api"),
        ("HorizontalPodAutoscaler", "mlops-api"),
        ("Deployment", "mlflow"),
        ("Service", "mlflow"),
        ("PersistentVolumeClaim", "mlflow-data"),
    } <= kinds
    namespaced = [r for r in resources if r["kind"] != "Namespace"]
    assert {r["metadata"].get("namespace") for r in namespaced} == {"mlops-course"}


def test_api_runs_the_command_of_its_image() -> None:
    """The Deployment writes out the image's CMD: they must not drift apart."""
    api = containers(find(load_resources(), "Deployment", "mlops-api"))[0]
    cmd = json.loads(dockerfile_final(DOCKERFILES["mlops-course-api"], "CMD")[-1])
    assert api["command"] == cmd
    exposed = dockerfile_final(DOCKERFILES["mlops-course-api"], "EXPOSE")[-1].split()
    assert [str(port["containerPort"]) for port in api["ports"]] == exposed


def test_kustomization_lists_every_manifest() -> None:
    """`kubectl apply -k` applies only what is listed: a forgotten file is never deployed."""
    kustomization = yaml.safe_load(KUSTOMIZATION.read_text(encoding="utf-8"))
    assert sorted(kustomization["resources"]) == [path.name for path in manifest_files()]
    images = {image["name"] for image in kustomization.get("images", [])}
    used = {
        c["image"].rpartition(":")[0]
        for d in of_kind(load_resources(), "Deployment")
        for c in containers(d)
    }
    assert used <= images, f"images without a kustomize override: {sorted(used - images)}"


# --- the overlay `make deploy` applies (ci/deploy-overlay.sh) ----------------------------------

OVERLAY_SCRIPT = REPO_ROOT / "ci" / "deploy-overlay.sh"
K8S_DIR = REPO_ROOT / "docker" / "kubernetes"


def _overlay(
    *args: str, uri: str | None = "https://mlflow.example.org"
) -> subprocess.CompletedProcess[str]:
    env = {"PATH": "/usr/bin:/bin"} | ({"MLFLOW_TRACKING_URI": uri} if uri is not None else {})
    return subprocess.run(
        ["sh", str(OVERLAY_SCRIPT), *args], capture_output=True, text=True, env=env, check=False
    )


def test_the_deploy_overlay_sets_the_image_the_alias_and_the_gates_registry_in_one_apply() -> None:
    result = _overlay(str(K8S_DIR), "ghcr.io/team/mlops-course-api:3f2a9c1", "challenger")
    assert result.returncode == 0, result.stderr
    overlay = yaml.safe_load(result.stdout)
    assert overlay["resources"] == [str(K8S_DIR)]
    kustomization = yaml.safe_load((K8S_DIR / "kustomization.yaml").read_text())
    assert overlay["images"] == [
        {
            "name": "mlops-course-api",
            "newName": "ghcr.io/team/mlops-course-api",
            "newTag": "3f2a9c1",
        }
    ]
    assert overlay["images"][0]["name"] in {image["name"] for image in kustomization["images"]}
    (patch,) = overlay["patches"]
    configmap = yaml.safe_load((K8S_DIR / "api-configmap.yaml").read_text())
    assert patch["target"] == {"kind": "ConfigMap", "name": configmap["metadata"]["name"]}
    operations = yaml.safe_load(patch["patch"])
    assert {op["path"]: op["value"] for op in operations} == {
        "/data/MLOPS_TRACKING_URI": "https://mlflow.example.org",
        "/data/MLOPS_MODEL_ALIAS": "challenger",
    }
    for op in operations:  # `replace` needs the key to exist in the ConfigMap
        assert op["op"] == "replace" and op["path"].removeprefix("/data/") in configmap["data"]


@pytest.mark.parametrize(
    ("args", "uri", "message"),
    [
        ((str(K8S_DIR), "ghcr.io/team/api:1", "champion"), None, "MLFLOW_TRACKING_URI"),
        ((str(K8S_DIR), "localhost:5000/team/api", "champion"), "http://m", "must carry a tag"),
        ((str(K8S_DIR), "ghcr.io/team/api:1", 'x"y'), "http://m", "quotes"),
        ((str(K8S_DIR), "ghcr.io/team/api:1"), "http://m", "usage"),
    ],
)
def test_the_deploy_overlay_refuses_what_would_deploy_the_wrong_thing(
    args: tuple[str, ...], uri: str | None, message: str
) -> None:
    result = _overlay(*args, uri=uri)
    assert result.returncode != 0 and message in result.stderr and result.stdout == ""


def test_make_deploy_applies_the_overlay_once_and_sets_nothing_afterwards() -> None:
    """`kubectl set image` or `set env` after the apply would each start another rollout."""
    makefile = (REPO_ROOT / "Makefile").read_text()
    recipe = makefile.split("\ndeploy:", 1)[1].split("\n\n", 1)[0]
    assert "ci/deploy-overlay.sh" in recipe and recipe.count("kubectl apply") == 1
    assert "set image" not in recipe and "set env" not in recipe
