"""The container files agree with the code: docker-compose.yml, deploy/Dockerfile,
.dockerignore and .env.example.

No Docker engine is needed: the files are parsed and checked against the services,
the runner and the configuration they have to match, and the image's entrypoint
command is run from the source tree.
"""
from __future__ import annotations

import base64
import fnmatch
import os
import re
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlparse

import pytest
import yaml

from shared import broker_users
from shared.auth import issuer_of_process, parse_keys, public_key_of
from services.intake.keys import parse_keyring
from shared.config import LEGACY_SECRETS, SECRETS, SERVICE_SECRETS, VARIABLES
from shared.runner import SERVICES

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "deploy" / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"
ENV_EXAMPLE = ROOT / ".env.example"
COMPOSE_SECRETS = ROOT / "deploy" / "compose"     # <service>.env: that service's keys only

APP_SERVICES = ("intake", "gateway", "remediation", "validation", "notifications", "notifications_alerts")
INFRA = ("rabbitmq", "mongo")
KNOWN = {v.name: v for v in VARIABLES}
REQUIRED = [v.name for v in VARIABLES if v.default is None]


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


@pytest.fixture(scope="module")
def services(compose) -> dict:
    return compose["services"]


def env_example(path: Path = ENV_EXAMPLE) -> dict[str, str]:
    values: dict[str, str] = {}
    for number, line in enumerate(path.read_text().splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, sep, value = line.partition("=")
        assert sep, f"{path.name}:{number}: not NAME=value: {line!r}"
        assert name not in values, f"{path.name}:{number}: {name} set twice"
        values[name.strip()] = value.strip()
    return values


def dockerfile_stages() -> list[list[str]]:
    """The Dockerfile's instructions (continuations joined, comments dropped), by stage."""
    logical, pending = [], ""
    for raw in DOCKERFILE.read_text().splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        logical.append(pending + line)
        pending = ""
    stages: list[list[str]] = []
    for instruction in logical:
        if instruction.upper().startswith("FROM "):
            stages.append([])
        assert stages, f"instruction before the first FROM: {instruction}"
        stages[-1].append(instruction)
    return stages


def healthcheck_command(service: dict) -> str:
    test = service["healthcheck"]["test"]
    return " ".join(test) if isinstance(test, list) else test


# --- docker-compose.yml ------------------------------------------------------------------

def test_compose_has_the_infrastructure_and_every_service(services):
    assert set(INFRA + APP_SERVICES) <= set(services)
    # The compose file and the runner name the same services.
    assert set(APP_SERVICES) == set(SERVICES)


def test_infrastructure_images(services):
    assert "management" in services["rabbitmq"]["image"]
    assert services["mongo"]["image"].startswith("mongo:7")
    command = services["mongo"]["command"]
    command = " ".join(command) if isinstance(command, list) else command
    assert "--replSet rs0" in command


@pytest.mark.parametrize("name", APP_SERVICES)
def test_app_service_builds_the_shared_image(services, name):
    service = services[name]
    build = service["build"]
    context = (COMPOSE.parent / build["context"]).resolve()
    assert context.is_dir(), f"{name}: build context {context} missing"
    dockerfile = (context / build.get("dockerfile", "Dockerfile")).resolve()
    assert dockerfile == DOCKERFILE.resolve() and dockerfile.is_file()
    # One image for all of them, told apart by the command only.
    assert service["image"] == services["intake"]["image"]


@pytest.mark.parametrize("name", APP_SERVICES)
def test_app_service_runs_its_own_service(services, name):
    service = services[name]
    command = service["command"]
    command = command if isinstance(command, list) else command.split()
    assert command == [name]
    assert command[0] in SERVICES


@pytest.mark.parametrize("name", APP_SERVICES)
def test_app_service_waits_for_a_healthy_broker_and_database(services, name):
    depends_on = services[name]["depends_on"]
    for infra in INFRA:
        assert depends_on[infra]["condition"] == "service_healthy", (name, infra)


@pytest.mark.parametrize("name", APP_SERVICES)
def test_app_service_environment(services, name):
    service = services[name]
    assert service["env_file"] == [".env", f"deploy/compose/{issuer_of_process(name)}.env"]
    environment = service["environment"]
    if isinstance(environment, list):
        environment = dict(item.split("=", 1) for item in environment)
    assert set(environment) <= set(KNOWN), set(environment) - set(KNOWN)
    assert "@rabbitmq:" in environment["AMQP_URI"]
    assert environment["MONGO_URI"].startswith("mongodb://mongo:27017/")
    assert "replicaSet=rs0" in environment["MONGO_URI"]
    assert service["restart"] == "unless-stopped"


@pytest.mark.parametrize("name", INFRA + ("intake",))
def test_healthchecks_defined(services, name):
    assert healthcheck_command(services[name])


def test_mongo_healthcheck_initiates_the_replica_set_it_is_started_with(services):
    check = healthcheck_command(services["mongo"])
    assert "rs.initiate" in check and "_id:'rs0'" in check
    # The member address must be one the services can resolve: the compose name.
    assert "host:'mongo:27017'" in check


def test_intake_healthcheck_calls_a_route_intake_serves(services):
    intake = services["intake"]
    check = healthcheck_command(intake)
    url = re.search(r"http://[\w.]+:(\d+)(/[\w/-]*)", check)
    assert url, check
    port, path = url.group(1), url.group(2)
    source = (ROOT / "services" / "intake" / "service.py").read_text()
    assert re.search(rf"""@json_http\(\s*["']GET["']\s*,\s*["']{re.escape(path)}["'][\s,)]""", source), path
    # The port probed inside the container is the one published and the default bind.
    assert any(str(p).split(":")[-1] == port for p in intake["ports"])
    assert KNOWN["HTTP_ADDRESS"].default.endswith(f":{port}")
    assert "curl" not in check and "wget" not in check  # not in the slim image


# --- .env.example ---------------------------------------------------------------------------

def test_env_example_names_only_known_variables_and_no_secret():
    values = env_example()
    unknown = set(values) - set(KNOWN)
    assert not unknown, f".env.example sets variables shared.config does not read: {unknown}"
    assert not set(values) & set(SECRETS), "every service reads .env: secrets go in deploy/compose/<service>.env"
    per_service = set().union(*(env_example(COMPOSE_SECRETS / f"{s}.env") for s in SERVICE_SECRETS))
    missing = [name for name in REQUIRED if not values.get(name) and name not in per_service]
    assert not missing, f"neither .env.example nor a service's env file sets: {missing}"


def test_each_service_env_file_holds_its_own_valid_keys_only():
    seen, signing = [], {}
    for service, names in SERVICE_SECRETS.items():
        values = env_example(COMPOSE_SECRETS / f"{service}.env")
        assert set(values) == set(names) - set(LEGACY_SECRETS), service
        for name, value in values.items():
            if name == "IDENTITY_KEYS":      # a keyring: id:base64,...
                assert parse_keyring(value), (service, name)
                seen += [v.partition(":")[2] for v in value.split(",")]
                continue
            assert len(base64.b64decode(value, validate=True)) == 32, (service, name)
            seen.append(value)
        signing[service] = values["ACTOR_SIGNING_KEY"]
    assert len(set(seen)) == len(seen), "every key differs (one signing key per service)"
    verify = parse_keys(env_example()["ACTOR_VERIFY_KEYS"])
    assert verify == {s: public_key_of(k) for s, k in signing.items()}
    assert "python -m shared.crypto" in ENV_EXAMPLE.read_text()


# --- deploy/Dockerfile and .dockerignore ---------------------------------------------------

def test_dockerfile_final_stage_is_non_root_runtime_only():
    stages = dockerfile_stages()
    assert len(stages) >= 2, "multi-stage build expected"
    assert all(stage[0].split()[1].startswith("python:3.11-slim") for stage in stages)
    final = stages[-1]
    text = "\n".join(final)
    users = [i.split(None, 1)[1].strip() for i in final if i.upper().startswith("USER ")]
    assert users, "final stage has no USER"
    assert users[-1].split(":")[0] not in ("root", "0")
    assert not re.search(r"\b(gcc|g\+\+|build-essential)\b", text), "build tools in final stage"
    assert "COPY --from=builder /opt/venv /opt/venv" in text
    assert "PATH=/opt/venv/bin:$PATH" in text and "PYTHONUNBUFFERED=1" in text
    entrypoint = [i for i in final if i.upper().startswith("ENTRYPOINT ")]
    assert entrypoint and '"-m", "shared.runner"' in entrypoint[-1]
    assert any(i.upper().startswith("EXPOSE ") and "8000" in i for i in final)


def _ignored(path: str, patterns: list[str]) -> bool:
    ignored = False
    for pattern in patterns:
        negate = pattern.startswith("!")
        pattern = pattern.lstrip("!").strip("/").removeprefix("**/")
        parts = path.split("/")
        # A pattern matches the path, one of its parents, or (for **/x) any component.
        candidates = ["/".join(parts[: i + 1]) for i in range(len(parts))] + parts
        if any(fnmatch.fnmatch(c, pattern) for c in candidates):
            ignored = not negate
    return ignored


def test_dockerfile_copies_sources_that_exist_in_the_build_context():
    patterns = [p.strip() for p in DOCKERIGNORE.read_text().splitlines()
                if p.strip() and not p.strip().startswith("#")]
    for must_ignore in (".venv", ".local", ".git", ".env", "shared/__pycache__/x.pyc"):
        assert _ignored(must_ignore, patterns), must_ignore
    for stage in dockerfile_stages():
        for instruction in stage:
            words = instruction.split()
            if words[0].upper() != "COPY" or any(w.startswith("--from") for w in words):
                continue
            sources = [w for w in words[1:-1] if not w.startswith("--")]
            for source in sources:
                if source in (".", "./"):
                    continue
                path = ROOT / source
                assert path.exists(), f"COPY {source}: not in the repository"
                # git keeps no empty directories: one here is missing from a checkout.
                assert path.is_file() or any(p.is_file() for p in path.rglob("*")), \
                    f"COPY {source}: empty directory, absent from a git checkout"
                assert not _ignored(source.rstrip("/"), patterns), f"COPY {source}: excluded by .dockerignore"
    # What the image runs must reach the build context.
    for needed in ("pyproject.toml", "shared/runner.py", "services/intake/service.py"):
        assert not _ignored(needed, patterns), needed


# --- the entrypoint command itself ------------------------------------------------------------

def test_entrypoint_module_imports_and_rejects_an_unknown_service():
    """ENTRYPOINT ["python", "-m", "shared.runner"] from the source tree, with no keys
    and no broker: the module imports and prints its usage (exit 2)."""
    env = {k: v for k, v in os.environ.items() if k not in REQUIRED}
    env["PYTHONPATH"] = ""
    result = subprocess.run([sys.executable, "-m", "shared.runner", "nonexistent"],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=30)
    assert result.returncode == 2, result.stderr
    assert "usage: python -m shared.runner" in result.stderr
    for name in SERVICES:
        assert name in result.stderr


@pytest.mark.parametrize("name", APP_SERVICES)
def test_app_service_connects_as_its_own_broker_user(services, name):
    """compose's RabbitMQ loads deploy/rabbitmq/definitions.json (shared/broker_users.py)."""
    service = issuer_of_process(name)
    uri = urlparse(services[name]["environment"]["AMQP_URI"])
    assert (uri.username, uri.password) == (broker_users.user_name(service), broker_users.DEV_PASSWORDS[service])
    assert uri.path == "/" + broker_users.VHOST
    mounts = services["rabbitmq"]["volumes"]
    assert "./deploy/rabbitmq/definitions.json:/etc/rabbitmq/definitions.json:ro" in mounts
    assert "load_definitions = /etc/rabbitmq/definitions.json" in (ROOT / "deploy/rabbitmq/rabbitmq.conf").read_text()
