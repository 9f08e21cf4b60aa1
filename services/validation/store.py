"""Validation's store adapter: one document per case holding its rounds."""
from shared.store import DocumentStore


class ValidationStore(DocumentStore):
    service = "validation"
    collection_name = "validations"
