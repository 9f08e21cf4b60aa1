"""The party registry's use cases (``parties`` is a UnitOfWork over PartyStore), and
the scope a partner's chain gives it over cases. Callers pass the clock (``now``).

A partner's own link and its new chain are one write. A site's or agency's link is
stored with a ``party.links_changed`` event in one write; consuming it derives the
chain of each partner of that supplier again (idempotent: from the registry as it
is), so no crash leaves a link without its chains following."""
from __future__ import annotations

from datetime import datetime

from services.remediation.parties import KEEPERS, Party
from shared.contracts.common import PARTNER_ROLES, page_of
from shared.errors import Forbidden, InvalidInput, NotFound


def register_party(parties, p: dict, actor: dict, now: datetime) -> dict:
    party = Party.register(p, actor, now)
    if not parties.create(p["ref"], party):   # known: the same facts change nothing
        party = parties.change(p["ref"], lambda known: known.describe(p, actor, now),
                               skip_unchanged=True).aggregate
    return party.view_for(actor)


def link(parties, p: dict, actor: dict, now: datetime) -> dict:
    target = parties.load(p["to_ref"], missing=_unknown("to_ref", p["to_ref"]))
    return _relink(parties, p, actor, now, lambda party: party.link(p["link"], target, actor, now))


def unlink(parties, p: dict, actor: dict, now: datetime) -> dict:
    return _relink(parties, p, actor, now, lambda party: party.unlink(p["link"], p["to_ref"], actor, now))


def get_party(parties, p: dict, actor: dict) -> dict:
    if actor["role"] not in KEEPERS and actor["id"] != p["ref"]:
        raise Forbidden(f"party {p['ref']} is not {actor['id']}")   # before saying whether it exists
    return parties.load(p["ref"], missing=lambda _: NotFound(f"party {p['ref']} not found")).view_for(actor)


def list_parties(parties, p: dict, actor: dict) -> dict:
    docs, next_ref = parties.repo.page({"kind": p["kind"]} if p["kind"] else {}, p["limit"], p["after"])
    return page_of([Party.from_dict(d).view_for(actor) for d in docs], next_ref)


def chain_of(parties, actor: dict) -> frozenset:
    """The businesses and sites a partner's chain holds (nothing for other roles)."""
    if actor["role"] not in PARTNER_ROLES:
        return frozenset()
    party = parties.get(actor["id"])
    return party.chain_refs() if party is not None and party.kind == "partner" else frozenset()


def derive_chains(parties, event: dict, now: datetime) -> list[str]:
    """On ``party.links_changed``: the partners of that supplier derive their chains."""
    partners = parties.repo.partners_sourcing_from([event["data"]["supplier_ref"]])
    for partner_ref in partners:
        parties.change(partner_ref, lambda partner: partner.derive_chain(_linked(parties, partner), now),
                       skip_unchanged=True)
    return partners


def _relink(parties, p: dict, actor: dict, now: datetime, change) -> dict:
    """Change ``p['ref']``'s links (a partner's chain follows in the same write)."""
    def decide(party):
        change(party)
        if party.kind == "partner":
            party.derive_chain(_linked(parties, party), now)

    party = parties.change(p["ref"], decide, missing=_unknown("ref", p["ref"]), skip_unchanged=True).aggregate
    return party.view_for(actor)


def _linked(parties, partner: Party) -> list[Party]:
    suppliers = partner.suppliers()
    return [Party.from_dict(d) for d in parties.repo.linked_to(suppliers)] if suppliers else []


def _unknown(field: str, ref: str):
    return lambda _: InvalidInput({field: [f"no party {ref} is registered"]})
