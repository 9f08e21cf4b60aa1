"""The broker users of shared/broker_users.py: one table for the local run and the
definitions file compose loads, permissions that match the names the code declares
and write nothing but a service's own exchanges; and what the local run gives each
process (its own user, its own secrets)."""
import base64
import hashlib
import json
import re
from pathlib import Path

import pytest

from scripts.stack import DEV_BROKER_URIS, DEV_SIGNING_KEYS, Stack, new_dev_keys
from shared import broker_users
from shared.auth import SERVICES, issuer_of_process
from shared.config import LEGACY_SECRETS, SECRETS, SERVICE_SECRETS
from shared.messaging import DEAD_LETTER_QUEUE, RETRY_SUFFIX, ReliableEventHandler
from shared.runner import PROCESSES, service_class

DEFINITIONS = Path(__file__).resolve().parents[2] / "deploy" / "rabbitmq" / "definitions.json"


def allows(service: str, kind: str, name: str) -> bool:
    return re.fullmatch(broker_users.permissions(service)[kind], name) is not None


def test_the_definitions_file_is_generated_from_the_table():
    on_disk = json.loads(DEFINITIONS.read_text())
    assert on_disk == broker_users.dev_definitions(), "run: python -m shared.broker_users > " + str(DEFINITIONS)
    local = broker_users.definitions("ilm-test-x", {s: "pw" for s in SERVICES}, suffix_vhost=True)
    perms = {p["user"]: (p["configure"], p["write"], p["read"]) for p in on_disk["permissions"]}
    for p in local["permissions"]:   # the local run's users have the same permissions
        assert perms[p["user"].split("@")[0]] == (p["configure"], p["write"], p["read"])


def test_password_hashes_are_rabbitmq_sha256_of_the_dev_passwords():
    passwords = {broker_users.user_name(s): pw for s, pw in broker_users.DEV_PASSWORDS.items()}
    passwords[broker_users.DEV_ADMIN] = broker_users.DEV_ADMIN_PASSWORD
    for user in json.loads(DEFINITIONS.read_text())["users"]:
        raw = base64.b64decode(user["password_hash"])
        salt, digest = raw[:4], raw[4:]
        assert digest == hashlib.sha256(salt + passwords[user["name"]].encode()).digest(), user["name"]
        assert user["hashing_algorithm"] == "rabbit_password_hashing_sha256"


def test_consumed_sources_are_the_services_event_handlers():
    consumed = {}
    for process in PROCESSES:
        cls = service_class(process)
        for attr in vars(cls).values():
            for entrypoint in getattr(attr, "nameko_entrypoints", ()):
                if isinstance(entrypoint, ReliableEventHandler):
                    consumed.setdefault(issuer_of_process(process), set()).add(entrypoint.contract.source)
    assert consumed == {s: set(sources) for s, sources in broker_users.CONSUMES.items()}


@pytest.mark.parametrize("service", SERVICES)
def test_a_service_writes_only_its_own_exchanges(service):
    for other in SERVICES:
        assert allows(service, "write", f"{other}.events") == (other == service)
        assert allows(service, "write", f"{other}.retry") == (other == service)
    for forbidden in ("amq.default", "", "amq.topic", "ilm.dead-letter.v1x", "nameko-rpcx"):
        assert not allows(service, "write", forbidden)
    assert allows(service, "write", "nameko-rpc")


def test_queue_names_the_code_declares_are_the_services_own():
    queue = "evt-remediation-case.status_changed.v1--notifications.on_case_status_changed"
    alert = "evt-intake-retaliation.reported.v1--notifications_alerts.on_retaliation_reported"
    for name in (queue, queue + RETRY_SUFFIX, alert, alert + RETRY_SUFFIX, "rpc-notifications",
                 "rpc.reply-notifications-1b4e28ba-2fa1-11d2-883f-0016d3cca427"):
        assert all(allows("notifications", kind, name) for kind in ("configure", "write", "read")), name
        assert not allows("remediation", "read", name)
    assert allows("remediation", "configure", DEAD_LETTER_QUEUE.name)
    assert not allows("remediation", "read", DEAD_LETTER_QUEUE.name)   # operators read dead letters
    assert allows("remediation", "read", "validation.events") and not allows("gateway", "read", "validation.events")
    assert allows("intake", "read", "validation.events") and not allows("intake", "read", "notifications.events")


@pytest.mark.parametrize("process", PROCESSES)
def test_the_local_run_gives_a_process_only_its_own_secrets_and_broker_user(tmp_path, process):
    keys = new_dev_keys()
    uris = {s: f"amqp://ilm-{s}%40v:pw@127.0.0.1:5672/v" for s in SERVICES}
    env = dict(keys, AMQP_URI="amqp://guest:guest@127.0.0.1:5672/v", **{DEV_BROKER_URIS: ",".join(f"{s}={u}" for s, u in uris.items())})
    got = Stack(env, tmp_path, 8000).service_env(process)
    service = issuer_of_process(process)
    assert {k for k in SECRETS if k in got} == set(SERVICE_SECRETS[service]) - set(LEGACY_SECRETS)
    assert got["AMQP_URI"] == uris[service]
    assert DEV_SIGNING_KEYS not in got and DEV_BROKER_URIS not in got
