"""Intake's store adapter: grievances with worker identity sealed at rest."""
from shared.store import DocumentStore


class GrievanceStore(DocumentStore):
    service = "intake"
    collection_name = "grievances"

    def ensure_indexes(self):
        super().ensure_indexes()
        self.col.create_index("worker_key")
