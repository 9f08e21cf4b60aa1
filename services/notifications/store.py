"""Notifications' store adapter: webhook subscriptions and deliveries."""
from shared.repository import Repository


class NotificationStore(Repository):
    service = "notifications"
    collection_name = "deliveries"

    def __init__(self, db):
        super().__init__(db)
        self.subscriptions = db["subscriptions"]

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

    def due_deliveries(self, now_iso: str, urgent_only: bool = False, limit: int = 100) -> list[dict]:
        extra = {"urgent": True} if urgent_only else {}
        pending = self.col.find({"status": "pending", "next_attempt_at": {"$lte": now_iso}, **extra}).limit(limit)
        stale = self.col.find({"status": "sending", "lease_until": {"$lte": now_iso}, **extra}).limit(limit)
        return list(pending) + list(stale)

    def deliveries_for(self, subscription_id: str, limit: int = 200) -> list[dict]:
        return list(self.col.find({"subscription_id": subscription_id}).sort("created_at", -1).limit(limit))
