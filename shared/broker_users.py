"""Who may do what on the broker: one RabbitMQ user per service, whose permissions
(vhost-scoped regexes over resource names) let it write only its own exchanges.

The one table below is the source of both the local run's users (scripts/stack.py
imports its ``definitions`` with ``rabbitmqctl import_definitions``) and the
definitions file compose and Kubernetes load at boot
(deploy/rabbitmq/definitions.json, ``python -m shared.broker_users``; a unit test
checks the file matches).

RabbitMQ's rules, and what follows from them here:
- publishing needs WRITE on the exchange: a service writes ``<service>.events``, its
  retry exchange ``<service>.retry`` and ``nameko-rpc`` (nameko 2 publishes RPC
  requests and replies there); never ``amq.default`` (the default exchange reaches
  every queue) and never another service's exchange;
- declaring a queue with ``x-dead-letter-exchange`` needs WRITE on that exchange
  (RabbitMQ checks it although the broker does the dead-lettering): hence the wait
  queues dead-letter through ``<service>.retry``, and a consumer may write
  ``ilm.dead-letter``, which routes only to the dead-letter queue (so a service can
  add to what operators inspect there, never to another service's queues);
- declaring needs CONFIGURE: its own queues and exchanges, ``nameko-rpc``, the
  dead-letter exchange and queue, and the events exchanges it consumes (kombu
  declares a queue's exchange before binding; configure is not write, so it cannot
  publish there);
- queue.bind needs WRITE on the queue and READ on the exchange; consuming needs READ
  on the queue.
"""
from __future__ import annotations

import base64
import hashlib
import json
import os
import re

from shared.auth import PROCESS_ISSUER, SERVICES

# The names shared/messaging.py declares (kept here: this module imports no nameko).
RPC_EXCHANGE = "nameko-rpc"
DEAD_LETTER_EXCHANGE = "ilm.dead-letter"
DEAD_LETTER_QUEUE = "ilm.dead-letter.v1"
# v2: dead-letters back through the service's retry exchange; v1 (".retry") used the
# default exchange, which a service's user may not write (declaring a queue needs
# write on its dead-letter exchange). An empty v1 wait queue can be deleted.
RETRY_SUFFIX = ".retry.v2"
HASHING = "rabbit_password_hashing_sha256"
# The dead-letter queue keeps a message this long, then drops it. A policy, not a
# queue argument: RabbitMQ refuses to redeclare a queue with other arguments, while a
# policy applies to the existing queue and changes without a redeclare.
RETENTION_POLICY = "ilm-dead-letter-retention"
DEFAULT_RETENTION_DAYS = 14.0
VHOST = "ilm"        # compose and Kubernetes; the local run and the tests use a vhost per run


# The event sources each service has queues on (tests/unit/test_broker_users.py checks
# this against the services' @on_event); a service not listed consumes none.
CONSUMES: dict[str, tuple[str, ...]] = {
    "intake": ("remediation", "validation"),     # a case's end, a round to ask the worker about
    "remediation": ("intake", "remediation", "validation"),
    "validation": ("intake", "remediation"),
    "notifications": ("intake", "remediation"),
}


def retry_exchange_name(service_name: str) -> str:
    return f"{service_name}.retry"


def processes(service: str) -> tuple[str, ...]:
    """The nameko services that run as this service's user (the alert lane as notifications)."""
    return (service, *(p for p, issuer in PROCESS_ISSUER.items() if issuer == service))


def user_name(service: str, vhost: str | None = None) -> str:
    """``ilm-<service>``; users are global to a broker, so a per-run vhost names its own."""
    return f"ilm-{service}" + (f"@{vhost}" if vhost else "")


def _any(*patterns: str) -> str:
    return "^(" + "|".join(patterns) + ")$"


def permissions(service: str) -> dict[str, str]:
    names = "(" + "|".join(map(re.escape, processes(service))) + ")"
    own_exchanges = (rf"{names}\.events", rf"{names}\.retry")   # nameko's event exchange, retry_exchange_name
    own_queues = (rf"rpc-{names}", rf"rpc\.reply-{names}-[0-9a-f-]+",
                  rf"evt-.+--{names}\.[a-z0-9_]+({re.escape(RETRY_SUFFIX)})?")   # event queues, their wait queues
    consumed = tuple(rf"{re.escape(source)}\.events" for source in CONSUMES.get(service, ()))
    # A consumer declares the dead-letter exchange and queue and binds them, and its
    # event queues name the exchange as their x-dead-letter-exchange, for which
    # RabbitMQ wants WRITE on it at queue.declare (see the module's docstring).
    dead_letter = (re.escape(DEAD_LETTER_EXCHANGE), re.escape(DEAD_LETTER_QUEUE)) if consumed else ()
    rpc = re.escape(RPC_EXCHANGE)
    return {
        "configure": _any(*own_queues, *own_exchanges, rpc, *consumed, *dead_letter),
        "write": _any(*own_queues, *own_exchanges, rpc, *dead_letter),
        "read": _any(*own_queues, *own_exchanges, rpc, *consumed, *dead_letter[:1]),
    }


def retention_days() -> float:
    return float(os.environ.get("DEAD_LETTER_RETENTION_DAYS") or DEFAULT_RETENTION_DAYS)


def retention_policy(vhost: str, days: float) -> dict:
    """Applies to the dead-letter queue only: at most one policy applies to a queue."""
    return {"vhost": vhost, "name": RETENTION_POLICY, "pattern": "^" + re.escape(DEAD_LETTER_QUEUE) + "$",
            "apply-to": "queues", "priority": 0, "definition": {"message-ttl": int(days * 86_400_000)}}


def password_hash(password: str, salt: bytes | None = None) -> str:
    """RabbitMQ's rabbit_password_hashing_sha256: base64(salt + sha256(salt + password))."""
    salt = os.urandom(4) if salt is None else salt
    return base64.b64encode(salt + hashlib.sha256(salt + password.encode()).digest()).decode()


def definitions(vhost: str, passwords: dict[str, str], suffix_vhost: bool = False,
                salt=lambda user: None, retention: float | None = None) -> dict:
    """RabbitMQ definitions: the vhost, a user per service, their permissions, the
    dead-letter retention (``retention`` days, DEAD_LETTER_RETENTION_DAYS by default)."""
    users = {s: user_name(s, vhost if suffix_vhost else None) for s in SERVICES}
    return {
        "vhosts": [{"name": vhost}],
        "users": [{"name": users[s], "password_hash": password_hash(passwords[s], salt(users[s])),
                   "hashing_algorithm": HASHING, "tags": []} for s in SERVICES],
        "permissions": [{"user": users[s], "vhost": vhost, **permissions(s)} for s in SERVICES],
        "policies": [retention_policy(vhost, retention_days() if retention is None else retention)],
    }


# Published in the repository, for compose only: never use them on a real broker.
DEV_PASSWORDS = {s: f"dev-only-{s}" for s in SERVICES}
# compose's operator (management UI): a broker that loads definitions at boot
# creates no guest user.
DEV_ADMIN, DEV_ADMIN_PASSWORD = "ilm-admin", "dev-only-admin"


def dev_definitions() -> dict:
    """deploy/rabbitmq/definitions.json (a salt per user, fixed so the file is reproducible)."""
    salt = lambda user: hashlib.sha256(user.encode()).digest()[:4]   # noqa: E731
    defs = definitions(VHOST, DEV_PASSWORDS, salt=salt, retention=DEFAULT_RETENTION_DAYS)
    defs["users"].append({"name": DEV_ADMIN, "password_hash": password_hash(DEV_ADMIN_PASSWORD, salt(DEV_ADMIN)),
                          "hashing_algorithm": HASHING, "tags": ["administrator"]})
    defs["permissions"].append({"user": DEV_ADMIN, "vhost": VHOST, "configure": ".*", "write": ".*", "read": ".*"})
    return defs


if __name__ == "__main__":
    print(json.dumps(dev_definitions(), indent=2))
