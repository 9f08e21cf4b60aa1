"""Remediation's store adapter: the only code that knows the ``cases`` collection."""
from shared.store import DocumentStore


class CaseStore(DocumentStore):
    service = "remediation"
    collection_name = "cases"   # plural: nx-27017 cannot name a collection "case"

    def ensure_indexes(self):
        super().ensure_indexes()
        self.col.create_index("status")
        self.col.create_index("business_ref")
        self.col.create_index("supplier_ref")
