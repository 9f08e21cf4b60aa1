"""The one use-case shape every service follows: load -> decide in the pure domain ->
save the new state and the events it raised in one write -> relay the events.

An aggregate is any object with ``to_dict()``, ``from_dict()`` and a ``raised`` list
of ``(EventContract, data)`` pairs; the domain modules provide them.
"""
from __future__ import annotations

from pymongo.errors import DuplicateKeyError

from shared.contracts.events import make_event
from shared.errors import NotFound
from shared.store import retry_on_conflict


def _drain(aggregate, doc_id: str, correlation_id: str) -> list[dict]:
    events = [make_event(contract, doc_id, data, correlation_id) for contract, data in aggregate.raised]
    aggregate.raised.clear()
    return events


def create(store, relay, correlation_id: str, doc_id: str, aggregate) -> bool:
    """Insert a new aggregate with its events. False if it already exists (so a
    redelivered 'create' event changes nothing)."""
    events = _drain(aggregate, doc_id, correlation_id)
    try:
        doc = store.insert({"_id": doc_id, **aggregate.to_dict()}, events)
    except DuplicateKeyError:
        return False
    relay.relay(store, doc)
    return True


def change(store, relay, correlation_id: str, doc_id: str, aggregate_cls, decide,
           applied_event: str | None = None, missing=None):
    """Load ``doc_id``, call ``decide(aggregate)`` (the domain enforces its rules and
    raises on a forbidden step, in which case nothing is written), then save and
    relay. With ``applied_event``, an event already applied is skipped: handlers
    stay idempotent under redelivery. Returns the aggregate (None if skipped)."""
    def attempt():
        doc = store.load(doc_id)
        if doc is None:
            raise (missing or NotFound)(f"{doc_id} not found")
        if applied_event and store.already_applied(doc, applied_event):
            return None, None
        aggregate = aggregate_cls.from_dict(doc)
        decide(aggregate)
        events = _drain(aggregate, doc_id, correlation_id)
        return aggregate, store.replace({**doc, **aggregate.to_dict()}, events, applied_event)

    aggregate, saved = retry_on_conflict(attempt)
    if saved is not None and saved["outbox"]:
        relay.relay(store, saved)
    return aggregate


def change_or_create(store, relay, correlation_id: str, doc_id: str, aggregate_cls, decide,
                     new, applied_event: str | None = None):
    """``change``, creating the aggregate with ``new()`` the first time: one round
    trip in the common case instead of a failed insert every time."""
    try:
        return change(store, relay, correlation_id, doc_id, aggregate_cls, decide, applied_event)
    except NotFound:
        create(store, relay, correlation_id, doc_id, new())
        return change(store, relay, correlation_id, doc_id, aggregate_cls, decide, applied_event)
