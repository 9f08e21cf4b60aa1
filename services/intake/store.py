"""Intake's store adapter: grievances with worker identity sealed at rest."""
from shared.repository import Repository


class GrievanceStore(Repository):
    service = "intake"
    collection_name = "grievances"

    def ensure_indexes(self):
        super().ensure_indexes()
        # A worker's chat threads, newest first (validation outreach); also serves worker_key alone.
        self.col.create_index([("worker_key", 1), ("received_at", -1)])
        self.col.create_index("chat_key")
        self.col.create_index("replies_pending")
        self.col.create_index("erase_after")

    def open_case_of_chat(self, chat_key: str) -> str | None:
        """The reference of the chat's case still open (the newest, should there be two)."""
        doc = self.col.find_one({"chat_key": chat_key, "ended_at": None}, {"_id": 1}, sort=[("received_at", -1)])
        return doc["_id"] if doc else None

    def chat_thread_of_worker(self, worker_key: str) -> str | None:
        """The worker's chat thread: the newest of their grievances whose chat is still
        open (a message from that chat lands there) and whose data is not erased."""
        doc = self.col.find_one({"worker_key": worker_key, "chat_key": {"$ne": None}, "ended_at": None,
                                 "erased_at": None}, {"_id": 1}, sort=[("received_at", -1)])
        return doc["_id"] if doc else None

    def with_replies_pending(self, limit: int = 50) -> list[str]:
        return [d["_id"] for d in self.col.find({"replies_pending": True}, {"_id": 1}).limit(limit)]

    def due_for_erasure(self, now: str, limit: int) -> list[str]:
        """References of cases whose erasure date has come and that still hold
        worker data (``erased_at`` is stored as null until then)."""
        docs = self.col.find({"erase_after": {"$lte": now}, "erased_at": None}, {"_id": 1})
        return [d["_id"] for d in docs.sort("erase_after", 1).limit(limit)]
