"""Intake's store adapter: grievances with worker identity sealed at rest."""
from shared.repository import Repository


class GrievanceStore(Repository):
    service = "intake"
    collection_name = "grievances"

    def ensure_indexes(self):
        super().ensure_indexes()
        self.col.create_index("worker_key")
        self.col.create_index("erase_after")

    def due_for_erasure(self, now: str, limit: int) -> list[str]:
        """References of cases whose erasure date has come and that still hold
        worker data (``erased_at`` is stored as null until then)."""
        docs = self.col.find({"erase_after": {"$lte": now}, "erased_at": None}, {"_id": 1})
        return [d["_id"] for d in docs.sort("erase_after", 1).limit(limit)]
