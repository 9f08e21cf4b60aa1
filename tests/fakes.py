"""In-memory stand-ins for the store, the outbox relay and the processed-events
record, with the same semantics as the real ones (revision guard, duplicate ids,
outbox fields), so handlers are tested in milliseconds without Mongo or RabbitMQ.
The real ones are held to the same behaviour in tests/integration/test_repository.py."""
from __future__ import annotations

import copy

from shared.errors import ConcurrentUpdate
from shared.repository import DuplicateKeyError
from shared.unit_of_work import UnitOfWork


class FakeRepository:
    collection_name = "fake"

    def __init__(self):
        self.docs: dict[str, dict] = {}
        self.writes = 0

    def ensure_indexes(self):
        pass

    def load(self, doc_id):
        return copy.deepcopy(self.docs.get(doc_id))

    def insert(self, doc, events=()):
        if doc["_id"] in self.docs:
            raise DuplicateKeyError(f"duplicate {doc['_id']}")
        doc = dict(doc, _rev=1, outbox=list(events), outbox_pending=bool(events))
        self.docs[doc["_id"]] = copy.deepcopy(doc)
        self.writes += 1
        return doc

    def insert_many(self, docs):
        for d in docs:
            self.insert(d)

    def replace(self, doc, events=(), **fields):
        stored = self.docs.get(doc["_id"])
        if stored is None or stored["_rev"] != doc["_rev"]:
            raise ConcurrentUpdate(doc["_id"])
        outbox = list(doc.get("outbox", [])) + list(events)
        new = dict(doc, **fields, _rev=doc["_rev"] + 1, outbox=outbox, outbox_pending=bool(outbox))
        self.docs[doc["_id"]] = copy.deepcopy(new)
        self.writes += 1
        return new


class FakeRelay:
    """Publishes at once: records each event and clears it from the outbox."""

    def __init__(self):
        self.published: list[dict] = []

    def relay(self, repo, doc):
        self.published.extend(doc["outbox"])
        stored = repo.docs.get(doc["_id"])
        if stored is not None:
            stored["outbox"], stored["outbox_pending"] = [], False
        return True

    def types(self) -> list[str]:
        return [e["event_type"] for e in self.published]


class FakeProcessed:
    def __init__(self):
        self.keys: set[str] = set()

    def seen(self, event_key):
        return event_key in self.keys

    def mark(self, event_keys):
        self.keys.update(event_keys)


def unit_of_work(aggregate_cls, repo=None, relay=None, consumer="svc.handler") -> UnitOfWork:
    return UnitOfWork(repo if repo is not None else FakeRepository(), aggregate_cls,
                      relay if relay is not None else FakeRelay(), FakeProcessed(),
                      correlation_id=lambda: "corr-test", consumer=lambda: consumer)
