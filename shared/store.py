"""Storage helpers: one Mongo client per process, a database per service, and a
document store with optimistic concurrency and a transactional outbox.

Writes use only ``insert_one`` and a revision-guarded ``replace_one``. That keeps the
code portable between MongoDB 7 and the embedded nx-27017 server, which mangles
sub-documents pushed with ``$push`` and booleans set with ``$set`` (STACK-NOTES.md):
each service loads an aggregate, changes it in its pure domain module, and writes
the whole document back in one atomic step together with the events it raised.
"""
from __future__ import annotations

import threading
from datetime import timedelta

import pymongo
from nameko.extensions import DependencyProvider
from pymongo.errors import DuplicateKeyError

from shared.config import settings
from shared.contracts.events import iso, utc_now
from shared.errors import ConcurrentUpdate

__all__ = ["DocumentStore", "DuplicateKeyError", "Store", "client", "database", "retry_on_conflict"]

_clients: dict[str, pymongo.MongoClient] = {}
_lock = threading.Lock()


def client(uri: str | None = None) -> pymongo.MongoClient:
    uri = uri or settings().mongo_uri
    with _lock:
        if uri not in _clients:
            _clients[uri] = pymongo.MongoClient(
                uri, tz_aware=True, serverSelectionTimeoutMS=5000, connectTimeoutMS=3000,
                retryWrites=True, appname="ilm")
        return _clients[uri]


def database(service: str, uri: str | None = None):
    return client(uri)[settings().mongo_db_prefix + service]


class DocumentStore:
    """Base of each service's store adapter (one collection per subclass is common;
    a subclass may open more). Documents carry ``_rev`` for optimistic concurrency
    and, when they raise events, ``outbox`` + ``outbox_pending``."""

    service: str = ""          # whose database this is
    collection_name: str = ""
    # Recent event ids applied to a document, for idempotent consumers.
    APPLIED_EVENTS_KEPT = 100

    def __init__(self, db):
        self.db = db
        self.col = db[self.collection_name]

    def ensure_indexes(self) -> None:
        self.col.create_index("outbox_pending")

    # --- reads -----------------------------------------------------------------
    def load(self, doc_id: str) -> dict | None:
        return self.col.find_one({"_id": doc_id})

    def count(self, query: dict) -> int:
        """Count with ``$match`` + ``$count``: nx-27017 runs it in SQL, while its
        ``count_documents`` takes ~400 ms per 20k documents (measured)."""
        result = list(self.col.aggregate([{"$match": query}, {"$count": "n"}]))
        return result[0]["n"] if result else 0

    def count_by(self, field: str, query: dict | None = None) -> dict:
        """{value of ``field``: count}. One grouping key: nx-27017 groups on a
        compound ``_id`` wrongly (measured)."""
        pipeline = ([{"$match": query}] if query else []) + [{"$group": {"_id": f"${field}", "n": {"$sum": 1}}}]
        return {row["_id"]: row["n"] for row in self.col.aggregate(pipeline)}

    # --- writes ----------------------------------------------------------------
    def insert_many(self, docs: list[dict]) -> None:
        """Bulk load (generators, migrations): documents without pending events."""
        self.col.insert_many([dict(d, _rev=1, outbox=[], outbox_pending=False) for d in docs], ordered=False)

    def insert(self, doc: dict, events: list[dict] = ()) -> dict:
        """Insert a new document with the events it raised (DuplicateKeyError if the
        id exists: callers use it to make creation idempotent)."""
        doc = dict(doc, _rev=1, outbox=list(events), outbox_pending=bool(events))
        self.col.insert_one(doc)
        return doc

    def replace(self, doc: dict, events: list[dict] = (), applied_event: str | None = None) -> dict:
        """Write ``doc`` back if nobody changed it since it was read, appending
        ``events`` to its outbox in the same atomic write."""
        rev = doc["_rev"]
        applied = list(doc.get("applied_events", []))
        if applied_event:
            applied = (applied + [applied_event])[-self.APPLIED_EVENTS_KEPT:]
        outbox = list(doc.get("outbox", [])) + list(events)
        new = dict(doc, _rev=rev + 1, outbox=outbox, outbox_pending=bool(outbox),
                   applied_events=applied)
        if self.col.replace_one({"_id": doc["_id"], "_rev": rev}, new).matched_count != 1:
            raise ConcurrentUpdate(doc["_id"])
        return new

    @staticmethod
    def already_applied(doc: dict, event_id: str) -> bool:
        return event_id in doc.get("applied_events", ())

    # --- outbox ----------------------------------------------------------------
    def pending_outbox(self, older_than_seconds: float, limit: int = 200) -> list[dict]:
        cutoff = iso(utc_now() - timedelta(seconds=older_than_seconds))
        docs = self.col.find({"outbox_pending": True}).limit(limit)   # whole: the relay writes them back
        # Only events the request path has had time to publish itself.
        return [d for d in docs if any(e["occurred_at"] <= cutoff for e in d.get("outbox", []))]

    def clear_outbox(self, doc_id: str, event_ids: set[str], known: dict | None = None) -> None:
        """Remove relayed events. ``known`` is the document as last written, which
        saves a read in the common case; on a concurrent write (which may have
        appended new events, which must stay) it reloads and retries."""
        doc = known
        for _ in range(20):
            doc = doc or self.load(doc_id)
            if doc is None:
                return
            remaining = [e for e in doc.get("outbox", []) if e["event_id"] not in event_ids]
            if len(remaining) == len(doc.get("outbox", [])):
                return
            new = dict(doc, _rev=doc["_rev"] + 1, outbox=remaining, outbox_pending=bool(remaining))
            if self.col.replace_one({"_id": doc_id, "_rev": doc["_rev"]}, new).matched_count == 1:
                return
            doc = None
        raise ConcurrentUpdate(doc_id)

def retry_on_conflict(fn, attempts: int = 10):
    """Run load -> decide -> replace again when another worker won the race."""
    for attempt in range(attempts):
        try:
            return fn()
        except ConcurrentUpdate:
            if attempt == attempts - 1:
                raise


class Store(DependencyProvider):
    """Injects the service's store adapter, bound to the service's own database."""

    def __init__(self, store_cls: type[DocumentStore]):
        self.store_cls = store_cls
        self.instance = None

    def setup(self):
        self.instance = self.store_cls(database(self.store_cls.service))

    def start(self):
        self.instance.ensure_indexes()

    def get_dependency(self, worker_ctx):
        return self.instance
