"""The Kubernetes manifests (deploy/k8s) agree with the code and with Kubernetes.

Each kustomization (the base and the dev and prod overlays) is rendered with
``kubectl kustomize`` and every resource is validated against the Kubernetes 1.32
schemas (kubernetes-validate, strict: unknown fields fail). The rendered objects are
then checked against what the code defines: the services of shared.runner, the
variables of shared.config, the ops paths of shared.ops, and against each other
(selectors, Service target ports, envFrom references, PDBs, HPAs).

No cluster is needed; kubectl (v1.32, with kustomize built in) is.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
from functools import lru_cache
from pathlib import Path

import kubernetes_validate
import pytest
import yaml

from shared import broker_users, ops
from shared.auth import issuer_of_process
from shared.config import LEGACY_SECRETS, SERVICE_SECRETS, VARIABLES
from shared.runner import SERVICES

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "k8s"
KUSTOMIZATIONS = {"base": K8S / "base", "dev": K8S / "overlays" / "dev", "prod": K8S / "overlays" / "prod"}
OVERLAYS = ("dev", "prod")
KUBERNETES_VERSION = "1.32"

KNOWN = {v.name: v for v in VARIABLES}
DEFAULTS = {v.name: v.default for v in VARIABLES}
REQUIRED = {v.name for v in VARIABLES if v.default is None}
SECRET_FLAGGED = {v.name for v in VARIABLES if v.secret} - set(LEGACY_SECRETS)
# Carry credentials, so they come from the Secret although they have defaults.
CREDENTIAL_URIS = {"AMQP_URI", "MONGO_URI"}
IN_SECRET = REQUIRED | SECRET_FLAGGED | CREDENTIAL_URIS
IN_CONFIGMAP = set(KNOWN) - IN_SECRET - set(LEGACY_SECRETS)
# In every service's Secret: its broker user, its store, the issuers' public keys.
IN_EVERY_SECRET = CREDENTIAL_URIS | {"ACTOR_VERIFY_KEYS"}
WORKER_DATA_KEYS = {"IDENTITY_KEYS", "IDENTITY_KEY", "PSEUDONYM_KEY", "RECEIPT_PEPPER"}
CONFIG_NAME = "ilm-config"
PLACEHOLDER = "REPLACE_ME"

# Deployment name -> the process it runs: Kubernetes names allow no "_", so a dash.
DEPLOYMENTS = {service.replace("_", "-"): service for service in SERVICES}
HTTP_SERVICES = {"intake", "gateway"}   # the services with HTTP entrypoints
PROD_REPLICAS = {"intake": 3, "gateway": 2, "remediation": 2, "validation": 2, "notifications": 3,
                 "notifications-alerts": 2}
PROD_AUTOSCALED = {"intake": (3, 10), "notifications": (3, 10)}
QUEUE_TYPES = {"base": "quorum", "dev": "classic", "prod": "quorum"}
GRACE_SECONDS = 30
RUN_AS = 10001


def kubectl() -> str:
    found = shutil.which("kubectl") or ("/usr/bin/kubectl" if os.path.exists("/usr/bin/kubectl") else None)
    if found is None:
        pytest.fail("kubectl is not installed (not on PATH, not /usr/bin/kubectl): these tests render "
                    "deploy/k8s with `kubectl kustomize` (kubectl >= 1.27 has kustomize built in)",
                    pytrace=False)
    return found


@lru_cache(maxsize=None)
def _render(name: str) -> tuple[dict, ...]:
    proc = subprocess.run([kubectl(), "kustomize", str(KUSTOMIZATIONS[name])],
                          capture_output=True, text=True, timeout=60)
    if proc.returncode != 0:
        pytest.fail(f"kubectl kustomize {KUSTOMIZATIONS[name]} failed ({proc.returncode}):\n{proc.stderr}",
                    pytrace=False)
    return tuple(doc for doc in yaml.safe_load_all(proc.stdout) if doc)


def render(name: str) -> list[dict]:
    return list(_render(name))


def of_kind(resources, kind: str) -> list[dict]:
    return [r for r in resources if r["kind"] == kind]


def named(resources, kind: str, name: str) -> dict | None:
    return next((r for r in of_kind(resources, kind) if r["metadata"]["name"] == name), None)


def deployments(name: str) -> dict[str, dict]:
    return {d["metadata"]["name"]: d for d in of_kind(render(name), "Deployment")}


def container(deployment: dict) -> dict:
    containers = deployment["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1, f"{deployment['metadata']['name']}: expected one container"
    return containers[0]


def service_of(dep_name: str) -> str:
    """The service whose broker user, keys and Secret a Deployment's process has."""
    return issuer_of_process(DEPLOYMENTS[dep_name])


def secret_name(dep_name: str) -> str:
    return f"ilm-{service_of(dep_name)}-secrets"


def pod_labels(deployment: dict) -> dict:
    return deployment["spec"]["template"]["metadata"].get("labels", {})


def selects(match_labels: dict | None, labels: dict) -> bool:
    return bool(match_labels) and all(labels.get(k) == v for k, v in match_labels.items())


def port_of(address: str) -> int:
    return int(address.rsplit(":", 1)[1])


def configmap(name: str) -> dict:
    """The ilm-config of a render (its generated name carries a content hash)."""
    maps = [c for c in of_kind(render(name), "ConfigMap") if c["metadata"]["name"].startswith(CONFIG_NAME)]
    assert len(maps) == 1, f"{name}: expected one ConfigMap {CONFIG_NAME}(-hash), got {len(maps)}"
    return maps[0]


def effective(name: str, variable: str) -> str | None:
    return configmap(name).get("data", {}).get(variable, DEFAULTS[variable])


def container_port(c: dict, ref) -> dict | None:
    """The container port a probe or Service targetPort refers to (by name or number)."""
    for p in c.get("ports", []):
        if (isinstance(ref, str) and p.get("name") == ref) or p["containerPort"] == ref:
            return p
    return None


CPU = re.compile(r"^(\d+(?:\.\d+)?)(m?)$")
MEMORY = re.compile(r"^(\d+)(Ki|Mi|Gi)?$")


def cpu(value) -> float:
    number, milli = CPU.match(str(value)).groups()
    return float(number) / (1000 if milli else 1)


def memory(value) -> int:
    number, unit = MEMORY.match(str(value)).groups()
    return int(number) * {None: 1, "Ki": 2**10, "Mi": 2**20, "Gi": 2**30}[unit]


# --- Kubernetes itself ----------------------------------------------------------------

@pytest.mark.parametrize("name", KUSTOMIZATIONS)
def test_every_resource_validates_against_the_kubernetes_schema(name):
    resources = render(name)
    assert resources, f"{name} renders nothing"
    errors = []
    for r in resources:
        try:
            kubernetes_validate.validate(r, KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.ValidationError as exc:
            path = ".".join(str(p) for p in exc.path)
            errors.append(f"{r['kind']}/{r['metadata']['name']}: {path}: {exc.message}")
        except kubernetes_validate.SchemaNotFoundError as exc:
            errors.append(f"{r['kind']}/{r['metadata']['name']}: {exc.message}")
    assert not errors, "\n".join(errors)


@pytest.mark.parametrize("name", KUSTOMIZATIONS)
def test_every_resource_is_labelled_part_of_ilm(name):
    unlabelled = [f"{r['kind']}/{r['metadata']['name']}" for r in render(name)
                  if r["metadata"].get("labels", {}).get("app.kubernetes.io/part-of") != "ilm"]
    assert not unlabelled


# --- the services ---------------------------------------------------------------------

@pytest.mark.parametrize("name", KUSTOMIZATIONS)
def test_one_deployment_per_service_running_the_one_image(name):
    deps = deployments(name)
    assert sorted(deps) == sorted(DEPLOYMENTS)
    images = set()
    for dep_name, dep in deps.items():
        assert re.fullmatch(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?", dep_name), f"{dep_name}: not a DNS-1123 label"
        c = container(dep)
        assert c.get("args") == [DEPLOYMENTS[dep_name]], f"{dep_name}: args must be [{DEPLOYMENTS[dep_name]!r}]"
        assert c["args"][0] in SERVICES
        assert "command" not in c, f"{dep_name}: keep the image's ENTRYPOINT (python -m shared.runner)"
        images.add(c["image"])
    assert len(images) == 1, f"{name}: the services must share one image, got {images}"


@pytest.mark.parametrize("name", KUSTOMIZATIONS)
def test_selectors_match_pods_and_a_service_reaches_their_ports(name):
    resources = render(name)
    for dep_name, dep in deployments(name).items():
        labels = pod_labels(dep)
        assert labels.get("app.kubernetes.io/name") == dep_name
        assert selects(dep["spec"]["selector"].get("matchLabels"), labels), \
            f"{dep_name}: the selector does not match the pod labels"
        c = container(dep)
        services = [s for s in of_kind(resources, "Service") if selects(s["spec"].get("selector"), labels)]
        assert services, f"{dep_name}: no Service selects its pods"
        exposed = set()
        for svc in services:
            for p in svc["spec"]["ports"]:
                target = p.get("targetPort", p["port"])
                assert container_port(c, target) is not None, \
                    f"Service {svc['metadata']['name']} targets port {target!r}, which {dep_name} lacks"
                exposed.add(container_port(c, target)["name"])
        expected = {"ops", "http"} if dep_name in HTTP_SERVICES else {"ops"}
        assert exposed == expected, f"{dep_name}: Services expose {exposed}, expected {expected}"
        for constraint in dep["spec"]["template"]["spec"].get("topologySpreadConstraints", []):
            assert selects(constraint["labelSelector"].get("matchLabels"), labels)


@pytest.mark.parametrize("name", KUSTOMIZATIONS)
def test_probes_use_the_ops_endpoint_of_shared_ops(name):
    ops_port = port_of(DEFAULTS["OPS_ADDRESS"])
    for dep_name, dep in deployments(name).items():
        c = container(dep)
        ops_ports = [p for p in c["ports"] if p.get("name") == "ops"]
        assert len(ops_ports) == 1, f"{dep_name}: one container port named ops"
        assert ops_ports[0]["containerPort"] == ops_port == port_of(effective(name, "OPS_ADDRESS"))
        for probe, path in (("livenessProbe", ops.LIVENESS_PATH), ("readinessProbe", ops.READINESS_PATH),
                            ("startupProbe", ops.LIVENESS_PATH)):
            if probe == "startupProbe" and probe not in c:
                continue
            get = c[probe]["httpGet"]
            assert get["path"] == path, f"{dep_name}.{probe}: path {get['path']!r}, expected {path!r}"
            assert container_port(c, get["port"]) is ops_ports[0], f"{dep_name}.{probe}: not the ops port"
        # /readyz checks broker and store one after the other, each under a 3 s timeout.
        assert c["readinessProbe"].get("timeoutSeconds", 1) >= 7, f"{dep_name}: readiness timeout too short"
        annotations = dep["spec"]["template"]["metadata"].get("annotations", {})
        assert annotations.get("prometheus.io/scrape") == "true"
        assert annotations.get("prometheus.io/path") == ops.METRICS_PATH
        assert annotations.get("prometheus.io/port") == str(ops_port)


@pytest.mark.parametrize("name", KUSTOMIZATIONS)
def test_the_http_port_is_intakes_http_address(name):
    http_port = port_of(DEFAULTS["HTTP_ADDRESS"])
    assert port_of(effective(name, "HTTP_ADDRESS")) == http_port
    for dep_name, dep in deployments(name).items():
        http = [p for p in container(dep)["ports"] if p.get("name") == "http"]
        if dep_name in HTTP_SERVICES:
            assert [p["containerPort"] for p in http] == [http_port]
        else:
            assert not http, f"{dep_name} serves no HTTP"


@pytest.mark.parametrize("name", KUSTOMIZATIONS)
def test_pods_stop_gracefully_and_write_only_to_tmp(name):
    for dep_name, dep in deployments(name).items():
        spec = dep["spec"]["template"]["spec"]
        assert spec.get("terminationGracePeriodSeconds") == GRACE_SECONDS, dep_name
        tmp = [m for m in container(dep).get("volumeMounts", []) if m["mountPath"] == "/tmp"]
        assert len(tmp) == 1, f"{dep_name}: mount an emptyDir at /tmp"
        volume = next(v for v in spec["volumes"] if v["name"] == tmp[0]["name"])
        assert "emptyDir" in volume


# --- security and resources -------------------------------------------------------------

@pytest.mark.parametrize("name", KUSTOMIZATIONS)
def test_every_container_runs_restricted(name):
    for dep_name, dep in deployments(name).items():
        pod = dep["spec"]["template"]["spec"]
        pod_sc = pod.get("securityContext", {})
        for c in pod.get("initContainers", []) + pod["containers"]:
            sc = c.get("securityContext", {})

            def setting(key):
                return sc.get(key, pod_sc.get(key))

            where = f"{dep_name}/{c['name']}"
            assert setting("runAsNonRoot") is True, where
            assert setting("runAsUser") == RUN_AS, where
            assert sc.get("readOnlyRootFilesystem") is True, where
            assert sc.get("allowPrivilegeEscalation") is False, where
            assert sc.get("privileged", False) is False, where
            assert sc.get("capabilities", {}).get("drop") == ["ALL"], where
            assert not sc.get("capabilities", {}).get("add"), where
            assert (setting("seccompProfile") or {}).get("type") == "RuntimeDefault", where
        assert pod.get("automountServiceAccountToken") is False, dep_name
        assert not pod.get("hostNetwork") and not pod.get("hostPID") and not pod.get("hostIPC"), dep_name


@pytest.mark.parametrize("name", KUSTOMIZATIONS)
def test_every_container_has_requests_and_limits(name):
    for dep_name, dep in deployments(name).items():
        resources = container(dep).get("resources", {})
        for kind in ("cpu", "memory"):
            request = resources.get("requests", {}).get(kind)
            limit = resources.get("limits", {}).get(kind)
            assert request is not None and limit is not None, f"{dep_name}: {kind} request and limit"
            parse = cpu if kind == "cpu" else memory
            assert parse(request) <= parse(limit), f"{dep_name}: {kind} request above its limit"


# --- configuration ----------------------------------------------------------------------

@pytest.mark.parametrize("name", KUSTOMIZATIONS)
def test_env_from_references_resolve(name):
    resources = render(name)
    for dep_name, dep in deployments(name).items():
        refs = container(dep).get("envFrom", [])
        config_refs = [r["configMapRef"]["name"] for r in refs if "configMapRef" in r]
        secret_refs = [r["secretRef"]["name"] for r in refs if "secretRef" in r]
        assert config_refs and secret_refs, f"{dep_name}: envFrom the ConfigMap and the Secret"
        for ref in config_refs:
            assert named(resources, "ConfigMap", ref), f"{dep_name}: ConfigMap {ref} is not rendered"
        assert secret_refs == [secret_name(dep_name)], f"{dep_name}: only its own Secret, {secret_name(dep_name)}"
        for ref in secret_refs:
            # The Secret's shape is in the base; overlays leave it out (next test).
            assert named(render("base"), "Secret", ref), f"{dep_name}: Secret {ref} is not in the base"
        assert not [e for e in container(dep).get("env", []) if e["name"] not in KNOWN], \
            f"{dep_name}: env sets a variable shared.config does not read"


@pytest.mark.parametrize("name", OVERLAYS)
def test_overlays_never_apply_the_placeholder_secret(name):
    """Applying an overlay must not overwrite the Secret created out of band."""
    assert not of_kind(render(name), "Secret"), \
        f"{name} renders a Secret: `kubectl apply -k` would replace the real one"


@pytest.mark.parametrize("name", KUSTOMIZATIONS)
def test_configmap_holds_only_non_secret_variables(name):
    data = configmap(name).get("data", {})
    unknown = set(data) - set(KNOWN)
    assert not unknown, f"not variables of shared.config: {sorted(unknown)}"
    misplaced = set(data) & IN_SECRET
    assert not misplaced, f"secrets or credential URIs in the ConfigMap: {sorted(misplaced)}"
    assert data.get("QUEUE_TYPE") == QUEUE_TYPES[name]


def test_base_configmap_lists_every_non_secret_variable_with_its_default():
    data = configmap("base").get("data", {})
    missing = IN_CONFIGMAP - set(data)
    assert not missing, f"add to deploy/k8s/base/config.env: {sorted(missing)}"
    drifted = {k: (v, DEFAULTS[k]) for k, v in data.items() if k != "QUEUE_TYPE" and v != DEFAULTS[k]}
    assert not drifted, f"ConfigMap value differs from the shared.config default: {drifted}"


def test_base_secrets_hold_only_placeholders_and_each_service_only_its_keys():
    secrets = {s["metadata"]["name"]: s for s in of_kind(render("base"), "Secret")}
    assert sorted(secrets) == sorted({secret_name(d) for d in DEPLOYMENTS})
    held = set()
    for dep_name in DEPLOYMENTS:
        service = service_of(dep_name)
        secret = secrets[secret_name(dep_name)]
        assert "data" not in secret, "placeholders go in stringData"
        values = secret.get("stringData", {})
        assert set(values) == IN_EVERY_SECRET | set(SERVICE_SECRETS[service]) - set(LEGACY_SECRETS), \
            secret_name(dep_name)
        real = [k for k, v in values.items() if PLACEHOLDER not in v]
        assert not real, f"the committed Secrets must hold placeholders ({PLACEHOLDER}) only: {real}"
        # pymongo resolves mongodb+srv:// through DNS SRV lookups, which misbehave under eventlet.
        assert values["MONGO_URI"].startswith("mongodb://")
        assert values["AMQP_URI"].startswith(f"amqp://{broker_users.user_name(service)}:"), dep_name
        held |= set(values)
    assert REQUIRED <= held and IN_SECRET <= held, f"in no Secret: {sorted(IN_SECRET - held)}"


def test_no_deployment_but_intake_gets_a_worker_data_key():
    """notifications calls URLs chosen by outsiders: it never holds identity keys."""
    secrets = {s["metadata"]["name"]: s.get("stringData", {}) for s in of_kind(render("base"), "Secret")}
    for dep_name, dep in deployments("base").items():
        c = container(dep)
        env = {e["name"] for e in c.get("env", [])}
        for ref in c.get("envFrom", []):
            env |= set(secrets.get(ref.get("secretRef", {}).get("name"), {}))
        assert bool(env & WORKER_DATA_KEYS) == (dep_name == "intake"), dep_name
        assert ("IDENTITY_KEYS" in env) == (dep_name == "intake"), dep_name


# --- availability -------------------------------------------------------------------------

@pytest.mark.parametrize("name", KUSTOMIZATIONS)
def test_every_deployment_has_a_disruption_budget(name):
    pdbs = of_kind(render(name), "PodDisruptionBudget")
    for dep_name, dep in deployments(name).items():
        covering = [p for p in pdbs if selects(p["spec"]["selector"].get("matchLabels"), pod_labels(dep))]
        assert len(covering) == 1, f"{dep_name}: {len(covering)} PodDisruptionBudgets select it"
        spec = covering[0]["spec"]
        assert ("minAvailable" in spec) != ("maxUnavailable" in spec)


def test_dev_runs_one_replica_of_each_service():
    assert {n: d["spec"].get("replicas") for n, d in deployments("dev").items()} == dict.fromkeys(DEPLOYMENTS, 1)
    assert not of_kind(render("dev"), "HorizontalPodAutoscaler")


def test_prod_replicas_and_autoscalers():
    deps = deployments("prod")
    hpas = {h["spec"]["scaleTargetRef"]["name"]: h for h in of_kind(render("prod"), "HorizontalPodAutoscaler")}
    assert sorted(hpas) == sorted(PROD_AUTOSCALED)
    replicas = {}
    for dep_name, dep in deps.items():
        hpa = hpas.get(dep_name)
        if hpa is None:
            replicas[dep_name] = dep["spec"].get("replicas")
            continue
        ref = hpa["spec"]["scaleTargetRef"]
        assert (ref["apiVersion"], ref["kind"]) == ("apps/v1", "Deployment")
        assert hpa["apiVersion"] == "autoscaling/v2"
        assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == PROD_AUTOSCALED[dep_name]
        assert hpa["spec"]["metrics"] == [{"type": "Resource", "resource": {
            "name": "cpu", "target": {"type": "Utilization", "averageUtilization": 70}}}]
        # The HPA owns the count: a replicas field would reset a scale-out on every apply.
        assert "replicas" not in dep["spec"], f"{dep_name} is autoscaled: leave replicas to its HPA"
        replicas[dep_name] = hpa["spec"]["minReplicas"]
    assert replicas == PROD_REPLICAS
