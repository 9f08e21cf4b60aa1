"""Dead letters an operator can work: list, show (without worker identity), replay.

    python -m shared.dead_letters list
    python -m shared.dead_letters show EVENT_ID
    python -m shared.dead_letters replay --event-id ID ... | --event-type TYPE ... | --all [--operator NAME]

Connects with ``AMQP_URI`` (or ``--amqp-uri``): an operator's credentials, which may
read the dead-letter queue and write the events exchanges (no service user may).
Each look takes every dead letter unacked and gives back what it does not replay by
closing its channel, never by a reject: a quorum queue counts rejects towards a
delivery limit and would drop a letter an operator only looked at.

Replay republishes the original envelope (same event id) to its source's exchange
with its catalogue routing key, then acks the dead letter. Every consumer bound
there gets it again, which is safe: consumers skip an event id they applied before
(shared/unit_of_work.py). Retention: a broker policy (shared/broker_users.py).
"""
from __future__ import annotations

import warnings

if __name__ == "__main__":     # nameko's eventlet import warns; the command's stderr is its log
    warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")

import argparse
import getpass
import json
import os
import sys
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from amqp import exceptions as amqp_exceptions

from shared import metrics
from shared.contracts.events import CATALOGUE, parse_event
from shared.errors import InvalidInput
from shared.logging import FORBIDDEN_KEYS, get_logger

log = get_logger(__name__)

# Identity of a worker beyond the log's forbidden keys: the pseudonyms events carry.
MASKED_KEYS = FORBIDDEN_KEYS | {"worker_key", "worker_keys"}
MASK = "[masked]"
FETCH_LIMIT = 10_000


@dataclass
class DeadLetter:
    message: Any          # kombu message, unacked until replayed (or given back)
    envelope: dict | None  # the JSON object of the body; None when it is not one

    @classmethod
    def of(cls, message) -> "DeadLetter":
        try:
            body = json.loads(message.body)
        except (TypeError, ValueError):
            body = None
        return cls(message, body if isinstance(body, dict) else None)

    @property
    def deaths(self) -> list[dict]:
        """x-death, most recent first (RabbitMQ's order)."""
        return list((self.message.headers or {}).get("x-death") or [])

    @property
    def event_id(self) -> str | None:
        return (self.envelope or {}).get("event_id")

    @property
    def event_type(self) -> str | None:
        return (self.envelope or {}).get("event_type")

    @property
    def contract(self):
        env = self.envelope or {}
        return CATALOGUE.get(f"{env.get('event_type')}.v{env.get('version')}")

    def summary(self) -> dict:
        last = self.deaths[0] if self.deaths else {}
        times = [d["time"] for d in self.deaths if isinstance(d.get("time"), datetime)]
        return {"event_id": self.event_id, "event_type": self.event_type, "queue": last.get("queue"),
                "reason": last.get("reason"), "count": sum(int(d.get("count", 1)) for d in self.deaths),
                "first_death": min(times).isoformat() if times else None}

    def shown(self) -> dict:
        return {**self.summary(), "envelope": mask(self.envelope, self.contract)}


def mask(value, contract=None):
    """The envelope without worker identity: every key of MASKED_KEYS (at any depth),
    and any ``data`` field the contract does not declare (a body that failed its
    contract can hold anything, free text included). A body that is not a JSON object
    is not shown at all."""
    if not isinstance(value, dict):
        return None if value is None else MASK
    shown = _masked(value)
    if contract is not None and isinstance(value.get("data"), dict):
        declared = contract.data_schema().fields
        shown["data"] = {k: (v if k in declared else MASK) for k, v in shown["data"].items()}
    return shown


def _masked(value):
    if isinstance(value, dict):
        return {k: MASK if k in MASKED_KEYS else _masked(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_masked(v) for v in value]
    return value


def select(letters: list[DeadLetter], event_ids=(), event_types=(), everything: bool = False) -> list[DeadLetter]:
    """By event id, by event type (``name`` or ``name.vN``), or all."""
    if everything:
        return list(letters)
    ids, types = set(event_ids), set(event_types)
    return [d for d in letters if d.event_id in ids or d.event_type in types
            or (d.contract and d.contract.routing_key in types)]


def replayable(letter: DeadLetter) -> str | None:
    """Why ``letter`` cannot be replayed (None: it can): replaying a body that fails
    its contract would only dead-letter it again."""
    if letter.contract is None:
        return "not an event of the catalogue"
    try:
        parse_event(letter.contract, letter.envelope)
    except InvalidInput:
        return "fails its contract"
    return None


class DeadLetterQueue:
    """``with DeadLetterQueue(uri) as dlq``: ``dlq.letters`` are held unacked; leaving
    the block gives back those not acked."""

    def __init__(self, amqp_uri: str, limit: int = FETCH_LIMIT):
        self.amqp_uri, self.limit = amqp_uri, limit

    def __enter__(self) -> "DeadLetterQueue":
        from kombu import Connection
        from shared.messaging import DEAD_LETTER_QUEUE
        self.conn = Connection(self.amqp_uri)
        queue = DEAD_LETTER_QUEUE(self.conn.channel())
        self.letters = []
        try:
            while len(self.letters) < self.limit and (message := queue.get(no_ack=False)) is not None:
                self.letters.append(DeadLetter.of(message))
        except amqp_exceptions.NotFound:     # no consumer has declared it yet: nothing died
            pass
        metrics.DEAD_LETTERS.set(len(self.letters))
        return self

    def __exit__(self, *exc) -> None:
        self.conn.release()      # closing the channel returns every unacked letter


def depth(amqp_uri: str) -> int | None:
    """How many letters wait in the dead-letter queue (a passive declare: nothing is
    read or created); 0 before any consumer declared it, None when this broker user
    may not look (a service with no event handlers has no rights on it)."""
    from kombu import Connection
    from shared.messaging import DEAD_LETTER_QUEUE
    # connect() tries once (default_channel would retry forever while the broker is away).
    with Connection(amqp_uri, connect_timeout=5) as conn:
        try:
            conn.connect()
            return conn.channel().queue_declare(queue=DEAD_LETTER_QUEUE.name, passive=True).message_count
        except amqp_exceptions.NotFound:
            return 0
        except amqp_exceptions.AccessRefused:
            return None


def replay(dlq: DeadLetterQueue, chosen: list[DeadLetter], operator: str, publish) -> dict:
    """Republish each chosen event once (two consumers may have dead-lettered the
    same event), then ack its dead letters. ``publish(envelope)`` confirms or raises."""
    done, skipped = [], {}
    by_id: dict[str, list[DeadLetter]] = {}
    for letter in chosen:
        why = replayable(letter)
        if why:
            skipped[letter.event_id or "?"] = why
        else:
            by_id.setdefault(letter.event_id, []).append(letter)
    for event_id, letters in by_id.items():
        publish(letters[0].envelope)
        for letter in letters:
            letter.message.ack()
        name = letters[0].contract.name
        log.info("dead_letter_replayed", event_id=event_id, event_type=name, operator=operator,
                 letters=len(letters))
        metrics.DEAD_LETTERS_REPLAYED.labels(name).inc()
        done.append(event_id)
    metrics.DEAD_LETTERS.set(len(dlq.letters) - sum(len(ls) for ls in by_id.values()))
    return {"replayed": done, "skipped": skipped}


# --- the command -------------------------------------------------------------------------

def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m shared.dead_letters", description=__doc__.split("\n")[0])
    p.add_argument("--amqp-uri", default=os.environ.get("AMQP_URI", "amqp://guest:guest@127.0.0.1:5672/"))
    sub = p.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="every dead letter, one JSON line each")
    show = sub.add_parser("show", help="one dead letter's envelope, without worker identity")
    show.add_argument("event_id")
    again = sub.add_parser("replay", help="republish to the source exchange, then ack")
    again.add_argument("--event-id", action="append", default=[])
    again.add_argument("--event-type", action="append", default=[])
    again.add_argument("--all", action="store_true")
    again.add_argument("--operator", default=None, help="who replays (default: the OS user)")
    return p


def main(argv=None, out=sys.stdout) -> int:
    args = _parser().parse_args(argv)
    with DeadLetterQueue(args.amqp_uri) as dlq:
        if args.command == "list":
            for letter in dlq.letters:
                print(json.dumps(letter.summary()), file=out)
            return 0
        if args.command == "show":
            found = select(dlq.letters, event_ids=[args.event_id])
            for letter in found:
                print(json.dumps(letter.shown(), indent=2), file=out)
            return 0 if found else 1
        if not (args.event_id or args.event_type or args.all):
            print("replay needs --event-id, --event-type or --all", file=sys.stderr)
            return 2
        from shared.outbox import EventPublisher
        chosen = select(dlq.letters, args.event_id, args.event_type, args.all)
        result = replay(dlq, chosen, args.operator or getpass.getuser(), EventPublisher(args.amqp_uri).publish)
        print(json.dumps(result), file=out)
        return 0 if not result["skipped"] else 1


if __name__ == "__main__":
    from shared.logging import configure_structlog, json_handler
    import logging
    logging.getLogger().handlers[:] = [json_handler(sys.stderr)]   # stdout is the command's output
    logging.getLogger().setLevel("INFO")
    configure_structlog()
    sys.exit(main())
