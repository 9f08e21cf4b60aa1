"""The gateway's store adapters: staff accounts and API keys (database ``gateway``)."""
from shared.repository import Repository


class AccountStore(Repository):
    service = "gateway"
    collection_name = "staff_accounts"

    def active_staff(self, roles: list[str], language: str | None) -> list[dict]:
        """No index on ``languages``: nx-27017 answers equality on an indexed array with nothing."""
        query = {"active": True, "role": {"$in": roles}, **({"languages": language} if language else {})}
        return list(self.col.find(query, {"username": 1, "role": 1, "languages": 1}).sort("_id", 1).limit(500))


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
