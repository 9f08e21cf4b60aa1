"""Validation's store adapter: one document per case holding its affected workers and
rounds; ``next_due`` (the open round's answer_by) is what the deadline sweep looks up."""
from shared.repository import Repository


class ValidationStore(Repository):
    service = "validation"
    collection_name = "validations"

    def ensure_indexes(self) -> None:
        super().ensure_indexes()
        self.col.create_index("next_due")

    def due(self, now: str, limit: int) -> list[str]:
        """Cases whose open round's deadline has come (null: no round waiting)."""
        docs = self.col.find({"next_due": {"$lte": now}}, {"_id": 1})
        return [d["_id"] for d in docs.sort("next_due", 1).limit(limit)]
