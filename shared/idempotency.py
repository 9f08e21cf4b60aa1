"""Which events a consumer has applied, exactly, at any age.

A consumer marks an event applied in two places, so that no crash can apply it twice
or lose it, without a multi-document transaction:

1. in the changed document itself (``applied_events``, in the same atomic write as
   the change): at most the last 16 events applied to that document;
2. in the service's ``processed_events`` collection, keyed ``<consumer>:<event id>``
   (the ``_id``, hence unique): before a document's write drops ids from its list,
   they are written here, in one batch.

So an applied event is always in one of the two; a redelivery, however late, finds it
(``ProcessedEvents.seen`` or the document's list) and changes nothing.
"""
from __future__ import annotations

from pymongo.errors import BulkWriteError

from shared.contracts.events import iso, utc_now

COLLECTION = "processed_events"


def key(consumer: str, event_id: str) -> str:
    return f"{consumer}:{event_id}"


class ProcessedEvents:
    def __init__(self, db):
        self.col = db[COLLECTION]

    def seen(self, event_key: str) -> bool:
        return self.col.find_one({"_id": event_key}, {"_id": 1}) is not None

    def mark(self, event_keys) -> None:
        """Record keys as applied; keys recorded before are fine (a retried flush)."""
        docs = [{"_id": k, "at": iso(utc_now())} for k in event_keys]
        if not docs:
            return
        try:
            self.col.insert_many(docs, ordered=False)
        except BulkWriteError as exc:
            if any(e.get("code") != 11000 for e in exc.details.get("writeErrors", [])):
                raise
