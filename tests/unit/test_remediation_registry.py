"""The party registry on in-memory fakes: registering and linking parties (who may,
idempotent, audited, bad input named), a partner's chain derived from it and
published as full state, and the scope that chain gives over cases."""
from datetime import datetime, timezone

import pytest

from services.remediation import case_list, handlers, registry
from services.remediation.domain import Case
from services.remediation.parties import Party
from shared.contracts import rpc as contract
from shared.contracts.common import Cursor, load
from shared.contracts.events import GRIEVANCE_RECEIVED, PARTY_CHAIN_CHANGED, PARTY_LINKS_CHANGED, make_event
from shared.errors import Forbidden, InvalidInput, NotFound
from tests.fakes import FakePartyStore, FakeRelay, unit_of_work

NOW = datetime(2026, 11, 1, 9, 0, tzinfo=timezone.utc)
ADMIN = {"id": "admin-1", "role": "admin"}
STAFF = {"id": "cw-1", "role": "case_worker"}
BRAND = {"id": "BRAND-1", "role": "partner"}
GRIEVANCE = {
    "worker_key": "wk_" + "a" * 32, "channel": "hotline", "language": "th", "work_area": "working_conditions",
    "forced_labour_indicators": [], "severity": "normal", "retaliation": False, "supplier_ref": "SUP-1",
    "site_ref": None, "agency_ref": None, "received_at": "2026-11-01T09:00:00.000Z",
}


def register(parties, ref, kind, actor=ADMIN, **extra):
    p = load(contract.RegisterParty, {"ref": ref, "kind": kind, "name": f"{ref} Co.", **extra})
    return registry.register_party(parties, p, actor, NOW)


def link(parties, ref, name, to_ref, actor=ADMIN, undo=False):
    p = load(contract.Link, {"ref": ref, "link": name, "to_ref": to_ref})
    return (registry.unlink if undo else registry.link)(parties, p, actor, NOW)


class Loopback(FakeRelay):
    """Hands remediation's own party.links_changed back to it, as the broker does."""
    parties = None

    def relay(self, repo, doc):
        events = list(doc["outbox"])
        super().relay(repo, doc)
        for event in events:
            if event["event_type"] == PARTY_LINKS_CHANGED.name and self.parties:
                registry.derive_chains(self.parties, event, NOW)


@pytest.fixture
def relay():
    return Loopback()


@pytest.fixture
def parties(relay):
    u = unit_of_work(Party, repo=FakePartyStore(), relay=relay, consumer="remediation.test")
    relay.parties = u
    for ref, kind in (("SUP-1", "supplier"), ("SUP-2", "supplier"), ("SITE-1", "site"), ("BRAND-1", "partner"),
                      ("BRAND-2", "partner")):
        register(u, ref, kind)
    register(u, "AGY-1", "agency", side="origin")
    return u


def chains(relay):
    return [e["data"] for e in relay.published if e["event_type"] == PARTY_CHAIN_CHANGED.name]


def test_registering_is_audited_idempotent_and_never_changes_a_kind(parties):
    party = registry.get_party(parties, {"ref": "AGY-1"}, STAFF)
    assert party["side"] == "origin" and party["registered_by"] == {"id": "admin-1", "role": "admin"}
    assert [a["action"] for a in party["audit"]] == ["register"] and party["audit"][0]["at"]
    writes = parties.repo.writes
    register(parties, "AGY-1", "agency", side="origin")                 # the same facts: nothing
    assert parties.repo.writes == writes
    renamed = register(parties, "AGY-1", "agency", side="destination", actor=STAFF)
    assert renamed["side"] == "destination" and renamed["audit"][-1]["actor"] == STAFF
    with pytest.raises(InvalidInput) as bad:
        register(parties, "AGY-1", "supplier")
    assert set(bad.value.errors) == {"kind"}


@pytest.mark.parametrize("payload,fields", [
    ({"ref": "A", "kind": "site", "name": "x"}, {"ref"}),
    ({"ref": "AGY-9", "kind": "agency", "name": "x"}, {"side"}),
    ({"ref": "SUP-9", "kind": "supplier", "name": "x", "side": "origin"}, {"side"}),
    ({"ref": "SUP-9", "kind": "buyer", "name": "", "country": "Thailand"}, {"kind", "name", "country"}),
])
def test_bad_registrations_name_the_field(payload, fields):
    with pytest.raises(InvalidInput) as bad:
        load(contract.RegisterParty, payload)
    assert set(bad.value.errors) == fields


def test_links_go_from_the_right_kind_to_a_registered_supplier_and_store_nothing_otherwise(parties):
    writes = parties.repo.writes
    for ref, name, to_ref, field in (("SITE-1", "sources_from", "SUP-1", "link"),
                                     ("BRAND-1", "sources_from", "SITE-1", "to_ref"),
                                     ("BRAND-1", "sources_from", "SUP-404", "to_ref"),
                                     ("NOBODY", "site_of", "SUP-1", "ref")):
        with pytest.raises(InvalidInput) as bad:
            link(parties, ref, name, to_ref)
        assert set(bad.value.errors) == {field}, (ref, name, to_ref)
    assert parties.repo.writes == writes


def test_a_partners_chain_is_its_suppliers_their_sites_and_their_agencies(parties, relay):
    link(parties, "SITE-1", "site_of", "SUP-1")
    link(parties, "AGY-1", "recruits_for", "SUP-2")
    view = link(parties, "BRAND-1", "sources_from", "SUP-1")
    assert view["chain"] == {"suppliers": ["SUP-1"], "sites": ["SITE-1"], "agencies": []}
    link(parties, "BRAND-1", "sources_from", "SUP-2")
    assert chains(relay)[-1] == {"partner_ref": "BRAND-1", "chain_version": 2, "suppliers": ["SUP-1", "SUP-2"],
                                 "sites": ["SITE-1"], "agencies": ["AGY-1"], "changed_at": "2026-11-01T09:00:00.000Z"}
    assert registry.chain_of(parties, BRAND) == {"SUP-1", "SUP-2", "SITE-1", "AGY-1"}
    assert registry.chain_of(parties, {"id": "BRAND-2", "role": "partner"}) == frozenset()
    assert registry.chain_of(parties, {"id": "SUP-1", "role": "supplier"}) == frozenset()


def test_a_site_or_agency_link_changes_the_chain_of_every_partner_of_that_supplier(parties, relay):
    link(parties, "BRAND-1", "sources_from", "SUP-1")
    link(parties, "BRAND-2", "sources_from", "SUP-1")
    link(parties, "AGY-1", "recruits_for", "SUP-1")
    assert {c["partner_ref"]: c["agencies"] for c in chains(relay)[-2:]} == {"BRAND-1": ["AGY-1"],
                                                                           "BRAND-2": ["AGY-1"]}
    link(parties, "AGY-1", "recruits_for", "SUP-1", undo=True)
    assert registry.chain_of(parties, BRAND) == {"SUP-1"}
    assert chains(relay)[-1]["chain_version"] == 3


def test_a_site_link_and_the_event_that_makes_chains_follow_are_one_write(parties, relay):
    link(parties, "BRAND-1", "sources_from", "SUP-1")
    relay.parties = None                               # the consumer has not run yet
    writes = parties.repo.writes
    link(parties, "SITE-1", "site_of", "SUP-1")
    assert parties.repo.writes == writes + 1
    assert relay.published[-1]["event_type"] == PARTY_LINKS_CHANGED.name
    assert relay.published[-1]["data"]["supplier_ref"] == "SUP-1"
    assert registry.chain_of(parties, BRAND) == {"SUP-1"}
    assert registry.derive_chains(parties, relay.published[-1], NOW) == ["BRAND-1"]
    assert registry.chain_of(parties, BRAND) == {"SUP-1", "SITE-1"}
    writes = parties.repo.writes
    registry.derive_chains(parties, relay.published[-2], NOW)      # redelivered: nothing to change
    assert parties.repo.writes == writes


def test_linking_twice_changes_nothing_and_publishes_nothing(parties, relay):
    link(parties, "BRAND-1", "sources_from", "SUP-1")
    published, writes = len(relay.published), parties.repo.writes
    link(parties, "BRAND-1", "sources_from", "SUP-1")
    link(parties, "BRAND-1", "sources_from", "SUP-2", undo=True)      # never linked
    assert (len(relay.published), parties.repo.writes) == (published, writes)
    audit = registry.get_party(parties, {"ref": "BRAND-1"}, ADMIN)["audit"]
    assert [a["action"] for a in audit] == ["register", "link"]


def test_a_business_or_partner_reads_its_own_record_only(parties):
    link(parties, "BRAND-1", "sources_from", "SUP-1")
    own = registry.get_party(parties, {"ref": "BRAND-1"}, BRAND)
    assert own["chain"]["suppliers"] == ["SUP-1"] and "audit" not in own and "registered_by" not in own
    assert registry.get_party(parties, {"ref": "SUP-1"}, {"id": "SUP-1", "role": "supplier"})["kind"] == "supplier"
    for ref in ("BRAND-2", "SUP-1", "NOBODY"):          # another's, or unknown: the same answer
        with pytest.raises(Forbidden):
            registry.get_party(parties, {"ref": ref}, BRAND)
    with pytest.raises(Forbidden):                      # the same ref, another kind of principal
        registry.get_party(parties, {"ref": "SUP-1"}, {"id": "SUP-1", "role": "partner"})
    with pytest.raises(NotFound):
        registry.get_party(parties, {"ref": "NOBODY"}, STAFF)


def test_parties_are_listed_in_stable_pages_behind_an_opaque_cursor(parties):
    seen, after = [], None
    while True:
        page = registry.list_parties(parties, load(contract.ListParties, {"limit": 2, "after": after}), STAFF)
        seen += [p["ref"] for p in page["items"]]
        if not page["next"]:
            break
        assert "SUP" not in page["next"] and "BRAND" not in page["next"]     # opaque
        after = page["next"]
    assert seen == sorted(seen) and len(seen) == 6
    suppliers = registry.list_parties(parties, load(contract.ListParties, {"kind": "supplier"}), STAFF)
    assert [p["ref"] for p in suppliers["items"]] == ["SUP-1", "SUP-2"] and suppliers["next"] is None
    with pytest.raises(InvalidInput) as bad:
        load(contract.ListParties, {"after": "SUP-1", "limit": 0})
    assert set(bad.value.errors) == {"after", "limit"}
    assert load(contract.ListParties, {"after": Cursor.encode("SUP-1")})["after"] == "SUP-1"


# --- scope over cases -----------------------------------------------------------------

@pytest.fixture
def cases():
    u = unit_of_work(Case, consumer="remediation.test")
    for n, supplier, business in ((1, "SUP-1", "SUP-1"), (2, "SUP-2", "SUP-2"), (3, "SUP-1", None),
                                  (4, "SUP-9", "AGY-1"), (5, "SUP-9", "SUP-9")):
        handlers.open_case(u, make_event(GRIEVANCE_RECEIVED, f"ILM-{n}", {**GRIEVANCE, "supplier_ref": supplier},
                                         "c"), NOW)
        if business:
            u.change(f"ILM-{n}", lambda c, b=business: setattr(c, "business_ref", b))
    return u


def listed(cases, actor, chain=frozenset(), **filters):
    p = load(contract.ListCases, {"limit": 2, **filters})
    refs, items = [], None
    while True:
        page = case_list.list_cases(cases, None, p, actor, chain, NOW)
        items = page["items"]
        refs += [c["case_ref"] for c in items]
        if not page["next"]:
            return refs, items
        p = {**p, "after": load(contract.ListCases, {"after": page["next"]})["after"]}


def test_staff_list_every_case_and_filter_by_status_and_business(cases):
    assert listed(cases, STAFF)[0] == ["ILM-1", "ILM-2", "ILM-3", "ILM-4", "ILM-5"]
    assert listed(cases, STAFF, business_ref="SUP-1")[0] == ["ILM-1"]
    assert listed(cases, STAFF, status="closed")[0] == []


def test_a_business_lists_the_cases_referred_to_it_redacted(cases):
    refs, items = listed(cases, {"id": "SUP-1", "role": "supplier"})
    assert refs == ["ILM-1"] and "worker_key" not in items[0]
    assert listed(cases, {"id": "SUP-1", "role": "supplier"}, business_ref="SUP-2")[0] == []


def test_a_partner_lists_only_the_cases_of_its_chain(parties, cases):
    assert listed(cases, BRAND, registry.chain_of(parties, BRAND))[0] == []        # no chain yet
    link(parties, "BRAND-1", "sources_from", "SUP-1")
    link(parties, "AGY-1", "recruits_for", "SUP-1")
    chain = registry.chain_of(parties, BRAND)
    refs, items = listed(cases, BRAND, chain)
    assert refs == ["ILM-1", "ILM-3", "ILM-4"]            # its supplier's, and one referred to its agency
    assert all("worker_key" not in c and "other_channels" not in c for c in items)
    assert listed(cases, BRAND, chain, business_ref="SUP-9")[0] == []
    for ref in ("ILM-2", "ILM-5"):
        with pytest.raises(Forbidden):
            handlers.get_case(cases, {"case_ref": ref}, BRAND, chain)
    assert handlers.get_case(cases, {"case_ref": "ILM-1"}, BRAND, chain)["case_ref"] == "ILM-1"


def test_a_partner_sees_the_scorecards_of_its_chain_only(parties):
    records = unit_of_work(Party)   # any aggregate store: an unknown business has an empty card
    link(parties, "BRAND-1", "sources_from", "SUP-1")
    chain = registry.chain_of(parties, BRAND)
    assert handlers.supplier_scorecard(records, {"business_ref": "SUP-1"}, BRAND, chain)["cases"] == 0
    with pytest.raises(Forbidden):
        handlers.supplier_scorecard(records, {"business_ref": "SUP-2"}, BRAND, chain)
