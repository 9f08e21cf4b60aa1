"""Remediation's store adapter: the only code that knows the ``cases`` collection."""
from services.remediation.domain import DEADLINE_INDEX, OPEN_STATES
from shared.store import DocumentStore


class CaseStore(DocumentStore):
    service = "remediation"
    collection_name = "cases"   # plural: nx-27017 cannot name a collection "case"

    def ensure_indexes(self):
        super().ensure_indexes()
        self.col.create_index("status")
        self.col.create_index("business_ref")
        self.col.create_index("supplier_ref")

    def count_open_by_status(self) -> dict[str, int]:
        return {status: self.col.count_documents({"status": status}) for status in sorted(OPEN_STATES)}

    def count_overdue(self, now_iso: str) -> dict[str, int]:
        """Open cases past a deadline that is not met yet. ``$in: [None]`` rather than
        ``None``: nx-27017 matches a nested null only that way (real MongoDB: both)."""
        return {name: self.col.count_documents({
            "status": {"$in": sorted(OPEN_STATES)},
            f"deadlines.{name}.done_at": {"$in": [None]},
            f"deadlines.{name}.due": {"$lt": now_iso},
        }) for name in DEADLINE_INDEX}
