"""The only code that knows how a service's documents are written: one Mongo client
per process, a database per service, and a revision-guarded repository.

Writes use only ``insert_one`` and a revision-guarded ``replace_one``, which keeps the
code portable between MongoDB 7 and the embedded nx-27017 server (it mangles
sub-documents pushed with ``$push`` and booleans set with ``$set``, STACK-NOTES.md):
a handler loads a document, the pure domain changes it, and the whole document goes
back in one atomic step together with the events it raised (its outbox, see
shared/outbox.py).
"""
from __future__ import annotations

import random
import threading
import time

import pymongo
from pymongo.errors import DuplicateKeyError

from shared import metrics
from shared.config import Settings, settings
from shared.errors import ConcurrentUpdate
from shared.logging import get_logger

__all__ = ["DuplicateKeyError", "Repository", "client", "database", "retry_on_conflict"]

log = get_logger(__name__)
_clients: dict[str, pymongo.MongoClient] = {}   # a connection pool per URI, per process
_lock = threading.Lock()


def client(uri: str | None = None) -> pymongo.MongoClient:
    cfg = settings()
    uri = uri or cfg.mongo_uri
    # A short wait for an unreachable store: a request answers 503 within about half
    # a second (shared/http.py), a consumer backs off (shared/messaging.py). Not a
    # socket timeout: a slow query on a live store is not an outage. No read retry: a
    # read on a connection the outage broke would wait for the store once more (0.93 s
    # for the first report after a kill -9, measured), and every caller already treats
    # the failure as transient (a 503, a paused consumer) and tries again itself.
    with _lock:
        if uri not in _clients:
            _clients[uri] = pymongo.MongoClient(
                uri, tz_aware=True, serverSelectionTimeoutMS=int(cfg.mongo_timeout * 1000), connectTimeoutMS=3000,
                retryWrites=True, retryReads=False, appname="ilm")
        return _clients[uri]


def database(service: str, cfg: Settings | None = None):
    cfg = cfg or settings()
    return client(cfg.mongo_uri)[cfg.mongo_db_prefix + service]


class Repository:
    """Base of each service's store adapter. Documents carry ``_rev`` for optimistic
    concurrency and, when they raise events, ``outbox`` + ``outbox_pending``."""

    service: str = ""          # whose database this is
    collection_name: str = ""

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

    def page(self, query: dict, limit: int, after: str | None = None,
             key: str = "_id", collection=None) -> tuple[list[dict], str | None]:
        """Up to ``limit`` documents matching ``query`` after ``after``, in ``key`` order
        (a unique field: stable while documents are added), and the key to continue
        after when there are more (None: this was the last page). ``collection``: another
        collection of the store (default: its own)."""
        if after is not None:
            query = {**query, key: {"$gt": after}}
        docs = list((self.col if collection is None else collection).find(query).sort(key, 1).limit(limit + 1))
        return docs[:limit], (docs[limit - 1][key] if len(docs) > limit else None)

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

    def replace(self, doc: dict, events: list[dict] = (), **fields) -> dict:
        """Write ``doc`` (with ``fields`` set) back if nobody changed it since it was
        read, appending ``events`` to its outbox in the same atomic write."""
        rev = doc["_rev"]
        outbox = list(doc.get("outbox", [])) + list(events)
        new = dict(doc, **fields, _rev=rev + 1, outbox=outbox, outbox_pending=bool(outbox))
        if self.col.replace_one({"_id": doc["_id"], "_rev": rev}, new).matched_count != 1:
            raise ConcurrentUpdate(doc["_id"])
        return new


def retry_on_conflict(fn, attempts: int = 10, base_delay: float = 0.002, what: str = "document"):
    """Run load -> decide -> replace again when another worker won the race, after a
    short jittered pause (two workers that collided do not collide again in step).
    Exhausting the attempts is counted and logged, then raised: the caller's
    transport decides (an event is retried later, an RPC caller sees the error)."""
    for attempt in range(attempts):
        try:
            return fn()
        except ConcurrentUpdate as exc:
            if attempt == attempts - 1:
                metrics.REVISION_CONFLICTS_EXHAUSTED.labels(what).inc()
                log.warning("revision_conflicts_exhausted", collection=what, attempts=attempts,
                            document=str(exc))
                raise
            time.sleep(random.uniform(0, base_delay * 2 ** attempt))
