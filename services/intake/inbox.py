"""Provider messages taken, by (channel, provider message id): the same message
delivered twice, or twice at once (providers retry a slow answer), is handled once.

A message is claimed before it is handled and marked done after. If the handler
died, its claim lapses and a redelivery takes the message over; the thread's own
record of the message ids it applied (services/intake/chat_thread.py) keeps the
takeover from applying it twice.
"""
from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

from nameko.extensions import DependencyProvider

from shared.config import settings_of
from shared.contracts.events import iso
from shared.errors import ServiceUnavailable
from shared.repository import DuplicateKeyError, database

CLAIM = timedelta(seconds=60)
KEPT = timedelta(days=7)     # providers redeliver within hours; the marks need not live longer


def message_key(channel: str, message_id: str) -> str:
    return hashlib.sha256(f"{channel}:{message_id}".encode()).hexdigest()[:32]


class Inbox:
    def __init__(self, db):
        self.col = db["chat_inbox"]

    def claim(self, key: str, now: datetime) -> bool:
        """True: handle it. False: handled already. ServiceUnavailable (503, the provider
        retries): another worker is handling it right now."""
        try:
            self.col.insert_one({"_id": key, "state": "taking", "at": iso(now)})
            return True
        except DuplicateKeyError:
            doc = self.col.find_one({"_id": key}) or {}
        if doc.get("state") == "done":
            return False
        if doc.get("at", "") > iso(now - CLAIM):
            raise ServiceUnavailable("this message is being handled; try again shortly")
        taken = self.col.update_one({"_id": key, "at": doc.get("at")}, {"$set": {"at": iso(now)}})
        if taken.modified_count != 1:
            raise ServiceUnavailable("this message is being handled; try again shortly")
        return True

    def done(self, key: str) -> None:
        self.col.update_one({"_id": key}, {"$set": {"state": "done"}})

    def forget_old(self, now: datetime) -> int:
        """Drop the marks of messages taken more than KEPT ago (the collection stays small)."""
        return self.col.delete_many({"at": {"$lt": iso(now - KEPT)}}).deleted_count

    def release(self, key: str) -> None:
        """Handling failed: the provider's retry may take it again at once."""
        self.col.delete_one({"_id": key, "state": "taking"})


class ChatInbox(DependencyProvider):
    def setup(self):
        self.inbox = Inbox(database("intake", settings_of(self.container)))

    def start(self):
        self.inbox.col.create_index("at")

    def get_dependency(self, worker_ctx):
        return self.inbox
