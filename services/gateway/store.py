"""The gateway's store adapters: staff accounts and API keys (database ``gateway``)."""
from shared.repository import Repository


class AccountStore(Repository):
    service = "gateway"
    collection_name = "staff_accounts"


class ApiKeyStore(Repository):
    service = "gateway"
    collection_name = "api_keys"

    def ensure_indexes(self):
        super().ensure_indexes()
        self.col.create_index("party_ref")

    def page(self, party_ref: str | None, after: str | None, limit: int) -> list[dict]:
        """Keys in id order, ``limit`` after the cursor (the last id of the previous page)."""
        query = {"party_ref": party_ref} if party_ref else {}
        if after:
            query["_id"] = {"$gt": after}
        return list(self.col.find(query).sort("_id", 1).limit(limit))


class PolicyStore(Repository):
    """Rules admins set for every staff account (the two-factor policy, two_factor.py)."""
    service = "gateway"
    collection_name = "staff_policies"
