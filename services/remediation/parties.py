"""The party registry kept by staff: sites, suppliers, recruitment agencies (origin or
destination side) and partners (buyers), and the links between them. Pure: no I/O,
no clock (callers pass ``now``).

A link goes from a party to a supplier (contracts/common.py PARTY_LINKS): a site of
it, an agency recruiting for it, a partner sourcing from it; it is stored on the
party it starts from. A site's or agency's link raises ``party.links_changed`` in
the same write, on which remediation derives the chains of that supplier's partners. A partner's supply chain is derived, never declared: the
suppliers it sources from, their sites and the agencies that recruit for them. Each
partner keeps its chain as last computed with a version, and raises
``party.chain_changed`` (the whole chain) when it differs, so the services that scope
by it (notifications) keep a projection without asking the registry.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from shared.contracts.common import ADMIN_ROLES, PARTY_LINKS, STAFF_ROLES
from shared.contracts.events import PARTY_CHAIN_CHANGED, PARTY_LINKS_CHANGED, iso
from shared.domain import Aggregate
from shared.errors import Forbidden, InvalidInput

KEEPERS = frozenset(STAFF_ROLES + ADMIN_ROLES)   # who keeps the registry
DESCRIBED_BY = ("name", "country", "side")       # what a (re-)registration may state
EMPTY_CHAIN = {"suppliers": [], "sites": [], "agencies": []}


@dataclass
class Party(Aggregate):
    ref: str
    kind: str
    name: str
    country: str | None
    side: str | None
    registered_at: str
    registered_by: dict
    links: dict = field(default_factory=dict)        # link name -> sorted supplier refs
    chain: dict = field(default_factory=lambda: dict(EMPTY_CHAIN))   # a partner's
    chain_version: int = 0
    audit: list = field(default_factory=list)
    raised: list = field(default_factory=list, repr=False, compare=False)

    @classmethod
    def register(cls, p: dict, actor: dict, now: datetime) -> "Party":
        party = cls(ref=p["ref"], kind=p["kind"], registered_at=iso(now), registered_by=_who(actor),
                    **{k: p.get(k) for k in DESCRIBED_BY})
        party._audit(actor, now, "register", {k: p.get(k) for k in ("kind", *DESCRIBED_BY)})
        return party

    def describe(self, p: dict, actor: dict, now: datetime) -> bool:
        """Registering a known ref again: the same facts change nothing (idempotent),
        new ones are recorded; a party never changes kind."""
        if p["kind"] != self.kind:
            raise InvalidInput({"kind": [f"{self.ref} is registered as a {self.kind}"]})
        changes = {k: p.get(k) for k in DESCRIBED_BY if p.get(k) != getattr(self, k)}
        for k, v in changes.items():
            setattr(self, k, v)
        if changes:
            self._audit(actor, now, "describe", changes)
        return bool(changes)

    def link(self, name: str, target: "Party", actor: dict, now: datetime) -> bool:
        start, reach = PARTY_LINKS[name]
        if self.kind != start:
            raise InvalidInput({"link": [f"{self.ref} is a {self.kind}; only a {start} is {name} a {reach}"]})
        if target.kind != reach:
            raise InvalidInput({"to_ref": [f"{target.ref} is a {target.kind}, not a {reach}"]})
        refs = self.links.get(name, [])
        if target.ref in refs:
            return False
        self.links[name] = sorted([*refs, target.ref])
        self._relinked(actor, now, "link", name, target.ref)
        return True

    def unlink(self, name: str, to_ref: str, actor: dict, now: datetime) -> bool:
        refs = self.links.get(name, [])
        if to_ref not in refs:
            return False
        self.links[name] = [r for r in refs if r != to_ref]
        self._relinked(actor, now, "unlink", name, to_ref)
        return True

    # --- a partner's supply chain -------------------------------------------------
    def suppliers(self) -> list[str]:
        return self.links.get("sources_from", [])

    def derive_chain(self, linked: list["Party"], now: datetime) -> bool:
        """``linked``: the sites and agencies linked to this partner's suppliers (and
        maybe others). Raises the event only when the chain really changed."""
        suppliers = set(self.suppliers())

        def of(kind, link):
            return sorted(p.ref for p in linked if p.kind == kind and suppliers & set(p.links.get(link, ())))

        chain = {"suppliers": sorted(suppliers), "sites": of("site", "site_of"),
                 "agencies": of("agency", "recruits_for")}
        if chain == self.chain:
            return False
        self.chain, self.chain_version = chain, self.chain_version + 1
        self.raised.append((PARTY_CHAIN_CHANGED, {"partner_ref": self.ref, "chain_version": self.chain_version,
                                                  **chain, "changed_at": iso(now)}))
        return True

    def chain_refs(self) -> frozenset:
        """Every business and site in the chain: what scope checks match against."""
        return frozenset(ref for refs in self.chain.values() for ref in refs)

    # --- views ----------------------------------------------------------------------
    def view_for(self, actor: dict) -> dict:
        """Staff and admins see the record and its audit trail; a business or partner
        its own record (its links and chain), without who among staff did what."""
        if actor["role"] in KEEPERS:
            return self.to_dict()
        if actor["role"] == self.kind and actor["id"] == self.ref:
            return {k: v for k, v in self.to_dict().items() if k not in ("audit", "registered_by")}
        raise Forbidden(f"party {self.ref} is not {actor['id']}")

    def _relinked(self, actor: dict, now: datetime, action: str, name: str, to_ref: str) -> None:
        """Audited; a site's or agency's link also changes the chains of the partners
        of that supplier (a partner derives its own chain in the same write)."""
        self._audit(actor, now, action, {"link": name, "to_ref": to_ref})
        if self.kind != "partner":
            self.raised.append((PARTY_LINKS_CHANGED, {"supplier_ref": to_ref, "changed_at": iso(now)}))

    def _audit(self, actor: dict, now: datetime, action: str, detail: dict) -> None:
        self.audit.append({"at": iso(now), "actor": _who(actor), "action": action,
                           "detail": {k: v for k, v in detail.items() if v is not None}})


def _who(actor: dict) -> dict:
    return {"id": actor["id"], "role": actor["role"]}
