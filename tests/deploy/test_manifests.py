"""The Kubernetes manifests render, validate against the schemas, and follow our rules.

Rendering uses ``kubectl kustomize``: kubectl must be on the machine (`.ci/run`
neither checks nor installs it); without it these tests fail saying how to
install it. Validation uses the offline schemas of ``kubernetes-validate``.
"""

from __future__ import annotations

import shutil
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from tests.conftest import REPO_ROOT

KUBERNETES_VERSION = "1.32.0"
DEPLOY = REPO_ROOT / "deploy"
BROKEN = Path(__file__).parent / "fixtures" / "broken"
# What a cluster may pull: the toolkit's released image (the version in
# pyproject.toml) and one PostgreSQL release, never a bare or floating name
# (a bare `dataspace-toolkit` would be pulled from docker.io/library).
VERSION = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]["version"]
RELEASED_IMAGE = f"ghcr.io/dataspace-toolkit/dataspace:{VERSION}"
POSTGRES_IMAGE = "postgres:16.9"
ALLOWED_IMAGES = {RELEASED_IMAGE, POSTGRES_IMAGE}


def render(path: Path) -> list[dict[str, Any]]:
    kubectl = shutil.which("kubectl")
    assert kubectl, "kubectl is needed to render the manifests (apt-get install kubectl)"
    result = subprocess.run([kubectl, "kustomize", str(path)], capture_output=True, text=True,
                            timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


def schema_errors(objects: list[dict[str, Any]]) -> list[str]:
    errors = []
    for obj in objects:
        try:
            kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.ValidationError as exc:
            errors.append(f"{obj['kind']}/{obj['metadata']['name']}: {exc.message}")
    return errors


def pod_specs(objects: list[dict[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
    """Every pod template the manifests would start, whatever workload holds it."""
    specs = []
    for o in objects:
        name = f"{o['kind']}/{o['metadata']['name']}"
        if o["kind"] in ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job"):
            specs.append((name, o["spec"]["template"]["spec"]))
        elif o["kind"] == "CronJob":
            specs.append((name, o["spec"]["jobTemplate"]["spec"]["template"]["spec"]))
        elif o["kind"] == "Pod":
            specs.append((name, o["spec"]))
    return specs


def rule_violations(objects: list[dict[str, Any]]) -> list[str]:
    """Our deployment rules: non-root, read-only root, probes, limits, network policies."""
    problems = []
    for name, spec in pod_specs(objects):
        pod_security = spec.get("securityContext") or {}
        if pod_security.get("runAsNonRoot") is not True:
            problems.append(f"{name}: pod must run as non-root")
        if (pod_security.get("seccompProfile") or {}).get("type") != "RuntimeDefault":
            problems.append(f"{name}: pod must use the RuntimeDefault seccomp profile")
        for container in spec.get("containers", []) + spec.get("initContainers", []):
            where = f"{name}/{container['name']}"
            if container.get("image") not in ALLOWED_IMAGES:
                problems.append(f"{where}: image {container.get('image')!r} is not "
                                f"{RELEASED_IMAGE} or {POSTGRES_IMAGE}")
            security = container.get("securityContext") or {}
            # The container's own setting wins over the pod's (Kubernetes' rule).
            run_as_non_root = security.get("runAsNonRoot", pod_security.get("runAsNonRoot"))
            run_as_user = security.get("runAsUser", pod_security.get("runAsUser"))
            if run_as_non_root is not True or run_as_user == 0:
                problems.append(f"{where}: container must run as non-root")
            if security.get("readOnlyRootFilesystem") is not True:
                problems.append(f"{where}: root filesystem must be read-only")
            if security.get("allowPrivilegeEscalation") is not False:
                problems.append(f"{where}: privilege escalation must be off")
            if (security.get("capabilities") or {}).get("drop") != ["ALL"]:
                problems.append(f"{where}: all capabilities must be dropped")
            resources = container.get("resources") or {}
            for kind in ("requests", "limits"):
                if not {"cpu", "memory"} <= set(resources.get(kind) or {}):
                    problems.append(f"{where}: cpu and memory {kind} are required")
            if container in spec.get("initContainers", []):
                continue
            for probe in ("readinessProbe", "livenessProbe"):
                if probe not in container or container[probe] is None:
                    problems.append(f"{where}: {probe} is required")
            if container.get("image") == POSTGRES_IMAGE:
                continue
            if (container.get("readinessProbe") or {}).get("httpGet", {}).get("path") != "/readyz":
                problems.append(f"{where}: readiness must probe /readyz")
            if (container.get("livenessProbe") or {}).get("httpGet", {}).get("path") != "/healthz":
                problems.append(f"{where}: liveness must probe /healthz")
    policies = [o for o in objects if o["kind"] == "NetworkPolicy"]
    if not any(p["spec"]["podSelector"] == {} for p in policies):
        problems.append("a default-deny NetworkPolicy is required")
    public_ports = {
        port["port"]
        for p in policies if p["spec"]["podSelector"].get("matchLabels", {}).get(
            "app.kubernetes.io/name") == "connector"
        for rule in p["spec"].get("ingress", []) if not rule.get("from")
        for port in rule.get("ports", [])
    }
    if public_ports != {8620}:
        problems.append(f"only the DSP/data-plane port may be public, got {public_ports}")
    return problems


@pytest.fixture(scope="module")
def edge() -> list[dict[str, Any]]:
    return render(DEPLOY / "overlays" / "edge")


def test_base_renders_and_validates() -> None:
    objects = render(DEPLOY / "base")
    assert schema_errors(objects) == []
    assert rule_violations(objects) == []


def test_edge_renders_and_validates(edge: list[dict[str, Any]]) -> None:
    assert schema_errors(edge) == []
    assert rule_violations(edge) == []


def test_every_container_runs_a_released_image(edge: list[dict[str, Any]]) -> None:
    images = {f"{name}/{container['name']}": container["image"]
              for name, spec in pod_specs(edge)
              for container in spec.get("containers", []) + spec.get("initContainers", [])}
    # The migrate init container is added by the overlay's patch, after the
    # base's `images` transformer: it must still get the released image.
    assert images == {
        "Deployment/trust-anchor/trust-anchor": RELEASED_IMAGE,
        "Deployment/marketplace/marketplace": RELEASED_IMAGE,
        "Deployment/marketplace/migrate": RELEASED_IMAGE,
        "Deployment/connector/connector": RELEASED_IMAGE,
        "Deployment/connector/migrate": RELEASED_IMAGE,
        "StatefulSet/postgres/postgres": POSTGRES_IMAGE,
    }


def test_edge_runs_connector_replicas_on_postgres(edge: list[dict[str, Any]]) -> None:
    by_kind = {(o["kind"], o["metadata"]["name"]): o for o in edge}
    connector = by_kind[("Deployment", "connector")]
    assert connector["spec"]["replicas"] >= 2
    hpa = by_kind[("HorizontalPodAutoscaler", "connector")]
    assert hpa["spec"]["scaleTargetRef"]["name"] == "connector"
    assert hpa["spec"]["minReplicas"] >= 2
    pdb = by_kind[("PodDisruptionBudget", "connector")]
    assert pdb["spec"]["selector"]["matchLabels"] == {"app.kubernetes.io/name": "connector"}
    spec = connector["spec"]["template"]["spec"]
    env = {e["name"]: e for e in spec["containers"][0]["env"]}
    # The database URL comes from a Secret, never a literal.
    assert env["CONNECTOR_DATABASE_URL"]["valueFrom"]["secretKeyRef"]["key"] == (
        "CONNECTOR_DATABASE_URL")
    # DSP requests are authenticated with DCP against the trust anchor.
    assert env["CONNECTOR_TRUST_ANCHOR_URL"]["value"].startswith("https://")
    migrate = spec["initContainers"][0]
    assert migrate["args"][:3] == ["db", "upgrade", "connector"]
    assert ("StatefulSet", "postgres") in by_kind
    # The management port has its own internal Service.
    management = by_kind[("Service", "connector-management")]
    assert management["spec"]["type"] == "ClusterIP"
    public = by_kind[("Service", "connector")]
    assert 8621 not in {p["port"] for p in public["spec"]["ports"]}


def test_edge_runs_the_marketplace_on_postgres_as_a_member(edge: list[dict[str, Any]]) -> None:
    by_kind = {(o["kind"], o["metadata"]["name"]): o for o in edge}
    marketplace = by_kind[("Deployment", "marketplace")]
    spec = marketplace["spec"]["template"]["spec"]
    [container] = spec["containers"]
    assert container["args"][:2] == ["marketplace", "serve"]
    assert "8610" in container["args"]
    env = {e["name"]: e for e in container["env"]}
    # The database URL comes from a Secret, never a literal; migrated before it serves.
    assert env["MARKETPLACE_DATABASE_URL"]["valueFrom"]["secretKeyRef"] == {
        "name": "database", "key": "MARKETPLACE_DATABASE_URL"}
    assert env["MARKETPLACE_DATABASE_SCHEMA"]["value"] == "marketplace"
    [migrate] = spec["initContainers"]
    assert migrate["args"] == ["db", "upgrade", "marketplace", "--schema", "marketplace"]
    assert migrate["env"][0]["valueFrom"]["secretKeyRef"]["key"] == "MARKETPLACE_DATABASE_URL"
    # It is a member of the data space: it applies at the trust anchor by itself.
    assert env["MARKETPLACE_TRUST_ANCHOR_URL"]["value"].startswith("https://")
    assert env["MARKETPLACE_PUBLIC_URL"]["value"].startswith("https://")
    sources = {next(iter(ref.values()))["name"].rsplit("-", 1)[0]
               for ref in container["envFrom"]}
    assert sources == {"marketplace-config", "marketplace-secrets"}
    config = next(o for o in edge if o["kind"] == "ConfigMap"
                  and o["metadata"]["name"].startswith("marketplace-config"))
    assert config["data"]["MARKETPLACE_MEMBERSHIP__LEGAL_NAME"]
    secrets = next(o for o in edge if o["kind"] == "Secret"
                   and o["metadata"]["name"].startswith("marketplace-secrets"))
    assert {"MARKETPLACE_KEY_PASSPHRASE", "MARKETPLACE_ADMIN_API_KEY"} <= set(secrets["data"])
    service = by_kind[("Service", "marketplace")]
    assert [p["port"] for p in service["spec"]["ports"]] == [8610]
    public = by_kind[("NetworkPolicy", "marketplace-public")]
    assert public["spec"]["ingress"] == [{"ports": [{"port": 8610, "protocol": "TCP"}]}]
    # The connector reports pay-per-use usage to it.
    connector = by_kind[("Deployment", "connector")]["spec"]["template"]["spec"]
    connector_env = {e["name"]: e.get("value") for e in connector["containers"][0]["env"]}
    assert connector_env["CONNECTOR_MARKETPLACE_URL"] == env["MARKETPLACE_PUBLIC_URL"]["value"]


def test_a_broken_manifest_is_caught() -> None:
    objects = render(BROKEN)
    errors = schema_errors(objects)
    assert errors == ["Deployment/connector: 'two' is not of type 'integer', 'null'"]
    problems = rule_violations(objects)
    assert "Deployment/connector: pod must run as non-root" in problems
    assert "Deployment/connector/connector: root filesystem must be read-only" in problems
    assert "Deployment/connector/connector: cpu and memory limits are required" in problems
    assert "Deployment/connector/connector: readinessProbe is required" in problems
    assert ("Deployment/connector/migrate: image 'dataspace-toolkit' is not "
            f"{RELEASED_IMAGE} or {POSTGRES_IMAGE}") in problems
    assert "Deployment/connector/migrate: container must run as non-root" in problems
    assert "Deployment/connector/migrate: privilege escalation must be off" in problems
    assert "Deployment/connector/migrate: all capabilities must be dropped" in problems
    assert "Deployment/connector: pod must use the RuntimeDefault seccomp profile" in problems
