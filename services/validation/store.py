"""Validation's store adapter: one document per case holding its rounds."""
from shared.repository import Repository


class ValidationStore(Repository):
    service = "validation"
    collection_name = "validations"
