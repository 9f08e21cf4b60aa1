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
        # No index on the array field event_types: nx-27017 answers an equality
        # query on an indexed array with nothing (measured). Subscriptions are few.

    def add_subscription(self, sub: dict) -> None:
        self.subscriptions.insert_one({"_id": sub["subscription_id"], **sub})

    def subscriptions_for(self, webhook_type: str) -> list[dict]:
        return list(self.subscriptions.find({"event_types": webhook_type, "active": True}))

    def subscription(self, subscription_id: str) -> dict | None:
        return self.subscriptions.find_one({"_id": subscription_id})

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

    def deliveries_for(self, subscription_id: str, limit: int = 200) -> list[dict]:
        return list(self.col.find({"subscription_id": subscription_id}).sort("created_at", -1).limit(limit))
