"""The use-case layer's one tool: load an aggregate, let the pure domain decide, save
the new state with the events it raised in one write, relay the events.

    cases = Aggregates(CaseStore, Case)                 # on the nameko service class
    changed = self.cases.change(ref, lambda case: case.refer(...))
    changed.aggregate, changed.result                   # the case, what refer returned

``UnitOfWork`` is plain Python over a repository, a relay and the processed-events
record, so handlers are unit-tested with in-memory fakes (tests/fakes.py).
``Aggregates`` is the nameko dependency that builds one per worker with the
service's repository, the container's outbox relay and the worker's correlation id.

An aggregate is any object with ``to_dict()``, ``from_dict()`` and a ``raised`` list of
``(EventContract, data)`` pairs, or ``(EventContract, data, case_ref)`` (shared/domain.py).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from nameko.extensions import DependencyProvider

from shared.config import settings_of
from shared.context import CORRELATION_ID, new_id
from shared.contracts.events import make_event
from shared.errors import NotFound
from shared.idempotency import ProcessedEvents, key
from shared.outbox import OutboxRelay
from shared.repository import DuplicateKeyError, database, retry_on_conflict


# Event keys a document keeps before flushing the older half to processed_events:
# one batched insert every APPLIED_WINDOW / 2 events instead of one per event.
APPLIED_WINDOW = 16


@dataclass
class Changed:
    """What ``change`` did: the saved aggregate and what the decision returned.
    ``aggregate`` is None when the event had been applied already."""
    aggregate: Any
    result: Any = None

    @property
    def applied(self) -> bool:
        return self.aggregate is not None


class UnitOfWork:
    def __init__(self, repo, aggregate_cls, relay, processed, correlation_id: Callable[[], str],
                 consumer: Callable[[], str] = lambda: "consumer"):
        self.repo, self.aggregate_cls, self.relay, self.processed = repo, aggregate_cls, relay, processed
        self._correlation_id, self._consumer = correlation_id, consumer

    # --- reads -------------------------------------------------------------------
    def get(self, doc_id: str):
        doc = self.repo.load(doc_id)
        return None if doc is None else self.aggregate_cls.from_dict(doc)

    def load(self, doc_id: str, missing: Callable[[str], Exception] = NotFound):
        aggregate = self.get(doc_id)
        if aggregate is None:
            raise missing(f"{doc_id} not found")
        return aggregate

    # --- writes ------------------------------------------------------------------
    def create(self, doc_id: str, aggregate) -> bool:
        """Insert a new aggregate with its events. False if it already exists (so a
        redelivered 'create' event changes nothing)."""
        events = self._drain(aggregate, doc_id)
        try:
            doc = self.repo.insert({"_id": doc_id, **aggregate.to_dict()}, events)
        except DuplicateKeyError:
            return False
        self.relay.relay(self.repo, doc)
        return True

    def change(self, doc_id: str, decide: Callable[[Any], Any], *, event: dict | None = None,
               missing: Callable[[str], Exception] = NotFound, skip_unchanged: bool = False) -> Changed:
        """Load ``doc_id``, call ``decide(aggregate)`` (the domain enforces its rules
        and raises on a forbidden step: then nothing is written), save and relay.
        With ``event`` (an envelope being consumed), an event this consumer applied
        before, at any age, changes nothing and returns ``Changed(None)``. With
        ``skip_unchanged`` (idempotent commands), a decision that left the aggregate as it
        was writes nothing (the price: a copy of the state before deciding)."""
        event_key = key(self._consumer(), event["event_id"]) if event else None
        if event_key and self.processed.seen(event_key):
            return Changed(None)

        def attempt():
            doc = self.repo.load(doc_id)
            if doc is None:
                raise missing(f"{doc_id} not found")
            # Ids stored bare by earlier versions are this consumer's: keep them exact.
            applied = [a if ":" in a else key(self._consumer(), a) for a in doc.get("applied_events") or ()]
            if event_key in applied:          # applied, not yet flushed to processed_events
                return Changed(None), None
            aggregate = self.aggregate_cls.from_dict(doc)
            before = aggregate.to_dict() if skip_unchanged else None
            result = decide(aggregate)
            events = self._drain(aggregate, doc_id)
            fields = {}
            if event_key:
                applied.append(event_key)
                if len(applied) > APPLIED_WINDOW:   # flush the oldest before this write drops them
                    self.processed.mark(applied[:-APPLIED_WINDOW // 2])
                    applied = applied[-APPLIED_WINDOW // 2:]
                fields["applied_events"] = applied
            state = aggregate.to_dict()
            if state == before and not events and not fields:
                return Changed(aggregate, result), None    # nothing changed: nothing written
            saved = self.repo.replace({**doc, **state}, events, **fields)
            return Changed(aggregate, result), saved

        changed, saved = retry_on_conflict(attempt, what=self.repo.collection_name)
        if saved is not None and saved["outbox"]:
            self.relay.relay(self.repo, saved)
        return changed

    def change_or_create(self, doc_id: str, decide, new: Callable[[], Any], *,
                         event: dict | None = None) -> Changed:
        """``change``, creating the aggregate with ``new()`` the first time: one round
        trip in the common case instead of a failed insert every time."""
        try:
            return self.change(doc_id, decide, event=event)
        except NotFound:
            self.create(doc_id, new())
            return self.change(doc_id, decide, event=event)

    def _drain(self, aggregate, doc_id: str) -> list[dict]:
        correlation_id = self._correlation_id()
        # (contract, data) names the aggregate in the envelope; (contract, data, ref) another
        # subject (a safeguarding alert's event names its case).
        events = [make_event(contract, subject[0] if subject else doc_id, data, correlation_id)
                  for contract, data, *subject in aggregate.raised]
        aggregate.raised.clear()
        return events


class Aggregates(DependencyProvider):
    """``Aggregates(RepositoryClass, AggregateClass)``: a UnitOfWork per worker, over
    the service's own database. Its repository is swept by the container's relay."""

    relay = OutboxRelay()

    def __init__(self, repository_cls, aggregate_cls):
        self.repository_cls, self.aggregate_cls = repository_cls, aggregate_cls
        self.repo = self.processed = None

    def setup(self):
        db = database(self.repository_cls.service, settings_of(self.container))
        self.repo = self.repository_cls(db)
        self.processed = ProcessedEvents(db)
        self.relay.register(self.repo)

    def start(self):
        self.repo.ensure_indexes()

    def get_dependency(self, worker_ctx):
        # Read when used: the request context sets (or adopts) the id after injection.
        service = self.container.service_name
        return UnitOfWork(self.repo, self.aggregate_cls, self.relay, self.processed,
                          correlation_id=lambda: worker_ctx.data.get(CORRELATION_ID) or new_id(),
                          consumer=lambda: f"{service}.{worker_ctx.entrypoint.method_name}")


class _LeftForTheSweep:
    """An ops script's relay: events stay in the outbox, and the running service's
    outbox sweep publishes them (the script holds no broker connection)."""

    @staticmethod
    def relay(repo, doc) -> bool:
        return False


def standalone(repo, aggregate_cls, consumer: str = "ops") -> UnitOfWork:
    """A UnitOfWork for an ops command run beside the services (e.g. a backfill)."""
    return UnitOfWork(repo, aggregate_cls, _LeftForTheSweep(), ProcessedEvents(repo.db), correlation_id=new_id,
                      consumer=lambda: consumer)
