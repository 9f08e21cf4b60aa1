"""Intake's store adapter: grievances with worker identity sealed at rest."""
from shared.repository import Repository


class GrievanceStore(Repository):
    service = "intake"
    collection_name = "grievances"

    def ensure_indexes(self):
        super().ensure_indexes()
        self.col.create_index("worker_key")
