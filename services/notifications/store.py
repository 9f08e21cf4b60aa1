"""Notifications' store adapter: webhook subscriptions and deliveries."""
from shared.repository import DuplicateKeyError, Repository


class NotificationStore(Repository):
    service = "notifications"
    collection_name = "deliveries"

    def __init__(self, db):
        super().__init__(db)
        self.subscriptions = db["subscriptions"]
        self.chains = db["chains"]        # partner -> its supply chain, from party.chain_changed

    def ensure_indexes(self):
        super().ensure_indexes()
        self.col.create_index("status")
        self.col.create_index("subscription_id")
        self.col.create_index("log_key")
        # No index on the array field event_types: nx-27017 answers an equality
        # query on an indexed array with nothing (measured). Subscriptions are few.

    def add_subscription(self, sub: dict) -> None:
        self.subscriptions.insert_one({"_id": sub["subscription_id"], **sub})

    def subscriptions_for(self, webhook_type: str) -> list[dict]:
        """Disabled ones too: what they miss is kept for their re-enabling."""
        return list(self.subscriptions.find({"event_types": webhook_type}))

    def subscriptions_page(self, owner: str | None, limit: int, after: str | None = None):
        """A page of endpoints by id: one owner's, or every endpoint (``owner`` None)."""
        return self.page({} if owner is None else {"partner_id": owner}, limit, after, collection=self.subscriptions)

    def subscription(self, subscription_id: str) -> dict | None:
        return self.subscriptions.find_one({"_id": subscription_id})

    def untold_disablings(self, limit: int) -> list[dict]:
        """Disabled endpoints whose owner was not told yet (``$in: [None]``: nx-27017
        matches a nested null only so)."""
        return list(self.subscriptions.find({"active": False, "owner_notice.sent_by": {"$in": [None]},
                                             "owner_notice.at": {"$exists": True}}).limit(limit))

    def update_subscription(self, subscription_id: str, changes: dict) -> None:
        self.subscriptions.update_one({"_id": subscription_id}, {"$set": changes})

    def claim_probe(self, subscription_id: str, open_until: str, new_open_until: str) -> bool:
        """Take the one probe of an endpoint whose circuit's cool-down is over: whoever
        moves ``circuit_open_until`` on first tries; the others wait for the new time."""
        return self.subscriptions.update_one({"_id": subscription_id, "circuit_open_until": open_until},
                                             {"$set": {"circuit_open_until": new_open_until}}).modified_count == 1

    def delete_subscription(self, subscription_id: str) -> None:
        self.subscriptions.delete_one({"_id": subscription_id})
        self.col.update_many({"subscription_id": subscription_id, "status": {"$in": ["pending", "stopped"]}},
                             {"$set": {"status": "cancelled", "next_attempt_at": None}})

    def stop_pending(self, subscription_id: str) -> int:
        """Hold an endpoint's waiting deliveries while it is disabled."""
        return self.col.update_many({"subscription_id": subscription_id, "status": "pending"},
                                    {"$set": {"status": "stopped", "next_attempt_at": None}}).modified_count

    def held_for(self, subscription_id: str) -> list[dict]:
        return list(self.col.find({"subscription_id": subscription_id, "status": "stopped"}))

    def between(self, subscription_id: str, since: str, until: str, limit: int = 1000) -> list[dict]:
        """Deliveries of events that happened in [since, until]."""
        return list(self.col.find({"subscription_id": subscription_id,
                                   "event_at": {"$gte": since, "$lte": until}}).limit(limit))

    def save_chain(self, partner_ref: str, version: int, refs: list[str]) -> bool:
        """Store the chain unless a newer or equal version is stored (False then)."""
        try:
            result = self.chains.update_one({"_id": partner_ref, "version": {"$lt": version}},
                                            {"$set": {"version": version, "refs": refs}}, upsert=True)
        except DuplicateKeyError:    # the stored version is not older: the upsert hit its _id
            return False
        return result.modified_count == 1 or result.upserted_id is not None

    def all_chains(self) -> dict[str, frozenset]:
        return {d["_id"]: frozenset(d["refs"]) for d in self.chains.find()}

    def due_deliveries(self, now_iso: str, urgent_only: bool = False, limit: int = 100) -> list[dict]:
        extra = {"urgent": True} if urgent_only else {}
        pending = self.col.find({"status": "pending", "next_attempt_at": {"$lte": now_iso}, **extra}).limit(limit)
        stale = self.col.find({"status": "sending", "lease_until": {"$lte": now_iso}, **extra}).limit(limit)
        return list(pending) + list(stale)

    def deliveries_for(self, subscription_id: str, limit: int = 50, after: str | None = None):
        """A page of an endpoint's deliveries, oldest first (``log_key``: creation time, id)."""
        return self.page({"subscription_id": subscription_id}, limit, after, key="log_key")


class BackupSendStore(Repository):
    """Backup contact messages (services/notifications/backup.py), one per source and recipient."""
    service = "notifications"
    collection_name = "backup_sends"

    def ensure_indexes(self):
        super().ensure_indexes()
        self.col.create_index("status")
        self.col.create_index("alert_id")

    def due(self, now_iso: str, limit: int = 100) -> list[str]:
        pending = self.col.find({"status": "pending", "next_attempt_at": {"$lte": now_iso}}, {"_id": 1}).limit(limit)
        stale = self.col.find({"status": "sending", "lease_until": {"$lte": now_iso}}, {"_id": 1}).limit(limit)
        return [d["_id"] for d in (*pending, *stale)]


class AlertWatchStore(Repository):
    """Per retaliation alert: was it received by a safeguarding endpoint in time?"""
    service = "notifications"
    collection_name = "alert_watches"

    def ensure_indexes(self):
        super().ensure_indexes()
        self.col.create_index("due_at")

    def due(self, now_iso: str, limit: int = 100) -> list[str]:
        return [d["_id"] for d in self.col.find({"due_at": {"$lte": now_iso}}, {"_id": 1}).limit(limit)]
