"""Putting a partner's supply chain in the party registry, as staff would, for the
demo, the integration tests and the bench: the partner's webhooks cover what the
registry says, never what the partner names."""
from shared.repository import database

from scripts.stack import wait_for


def link_partner(registry, partner_ref: str, *supplier_refs: str, timeout: float = 20) -> dict:
    """Register the partner and its suppliers and link them (``registry``: an RPC
    client acting as staff or an admin); return once notifications holds the new
    chain, so the next case event is matched against it. Idempotent."""
    remediation = registry.remediation
    remediation.register_party({"ref": partner_ref, "kind": "partner", "name": partner_ref})
    party = None
    for supplier in supplier_refs:
        remediation.register_party({"ref": supplier, "kind": "supplier", "name": supplier})
        party = remediation.link_parties({"ref": partner_ref, "link": "sources_from", "to_ref": supplier})
    wait_for(lambda: chain_projected(partner_ref, party["chain_version"]), timeout,
             f"notifications to learn {partner_ref}'s chain")
    return party


def chain_projected(partner_ref: str, version: int) -> bool:
    """Notifications' projection holds this version of the partner's chain, or a newer one."""
    chains = database("notifications")["chains"]
    return chains.find_one({"_id": partner_ref, "version": {"$gte": version}}) is not None
