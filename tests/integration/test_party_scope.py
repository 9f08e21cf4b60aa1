"""Scope from the party registry across the real processes: staff link a partner to a
supplier in remediation; notifications learns the chain from ``party.chain_changed``;
the partner's webhook then gets that supplier's cases and retaliation alerts and no
other's, its RPC reads stop at its chain, and nothing tells a business or partner
that the worker also went to another channel."""
import json

import pytest

from scripts.parties import chain_projected, link_partner
from shared.errors import Forbidden, InvalidInput
from tests.integration.conftest import eventually
from tests.integration.helpers import post_grievance, report, unique
from tests.principals import ADMIN, SAFEGUARDING, partner, supplier

pytestmark = pytest.mark.integration


def case_refs_at(receiver, path: str) -> set:
    return {h.json["data"]["case_ref"] for h in receiver.at(path)}


def test_a_partner_gets_the_cases_of_its_chain_and_nothing_else(stack, rpc, actors, receiver):
    ours, theirs, brand_ref = unique("SUP"), unique("SUP"), unique("BRAND")
    link_partner(actors(ADMIN), brand_ref, ours)
    brand = actors(partner(brand_ref))
    path, lead_path = f"/hooks/{brand_ref}", f"/lead/{brand_ref}"
    hook = brand.notifications.register_webhook({"url": receiver.url(path), "event_types": ["case.status_changed"]})
    actors(SAFEGUARDING).notifications.register_webhook({"url": receiver.url(lead_path),
                                                        "event_types": ["case.status_changed"]})

    other = post_grievance(stack, report(theirs)).json()["case_ref"]
    mine = post_grievance(stack, report(ours)).json()["case_ref"]
    receiver.wait(path, lambda got: mine in case_refs_at(receiver, path))
    # The lead's endpoint hears of every case: once it has the other case, that event
    # was fanned out, and every delivery it planned was stored before any was sent.
    receiver.wait(lead_path, lambda got: other in case_refs_at(receiver, lead_path))
    assert other not in case_refs_at(receiver, path)
    assert {d["case_ref"] for d in brand.notifications.list_deliveries(
        {"subscription_id": hook["subscription_id"]})["items"]} == {mine}

    eventually(lambda: rpc.remediation.get_case({"case_ref": other}))
    with pytest.raises(Forbidden):
        brand.remediation.get_case({"case_ref": other})
    assert "worker_key" not in brand.remediation.get_case({"case_ref": mine})
    listed = brand.remediation.list_cases({"limit": 200})
    assert [c["case_ref"] for c in listed["items"]] == [mine] and listed["next"] is None
    assert brand.remediation.get_party({"ref": brand_ref})["chain"]["suppliers"] == [ours]
    with pytest.raises(Forbidden):
        brand.remediation.get_party({"ref": ours})


def test_an_agency_linked_to_a_supplier_joins_its_partners_chains_everywhere(actors):
    ours, agency, brand_ref = unique("SUP"), unique("AGY"), unique("BRAND")
    admin = actors(ADMIN)
    version = link_partner(admin, brand_ref, ours)["chain_version"]
    admin.remediation.register_party({"ref": agency, "kind": "agency", "name": "Agency", "side": "origin",
                                      "country": "MM"})
    admin.remediation.link_parties({"ref": agency, "link": "recruits_for", "to_ref": ours})
    # Remediation derives the partner's chain on its own party.links_changed, then
    # notifications projects the newer chain.
    chain = eventually(lambda: (c := actors(partner(brand_ref)).remediation.get_party(
        {"ref": brand_ref})["chain"])["agencies"] == [agency] and c)
    assert chain["suppliers"] == [ours]
    eventually(lambda: chain_projected(brand_ref, version + 1))


def test_another_channel_leaves_no_trace_for_the_business_or_its_partners(stack, rpc, actors, receiver):
    ours, brand_ref = unique("SUP"), unique("BRAND")
    link_partner(actors(ADMIN), brand_ref, ours)
    path = f"/hooks/{brand_ref}"
    actors(partner(brand_ref)).notifications.register_webhook({"url": receiver.url(path),
                                                               "event_types": ["case.status_changed"]})
    ref = post_grievance(stack, report(ours)).json()["case_ref"]
    eventually(lambda: rpc.remediation.get_case({"case_ref": ref}))
    rpc.remediation.triage({"case_ref": ref})
    rpc.remediation.record_other_channel({"case_ref": ref, "channel": "labour_inspectorate", "note": "filed"})
    rpc.remediation.refer({"case_ref": ref, "business_ref": ours, "business_type": "supplier"})
    receiver.wait(path, lambda got: any(h.json["data"]["to_status"] == "referred" for h in got))
    assert "record_other_channel" in json.dumps(rpc.remediation.get_case({"case_ref": ref}))
    business, brand = actors(supplier(ours)).remediation, actors(partner(brand_ref)).remediation
    seen = [business.get_case({"case_ref": ref}), business.list_cases({}), brand.get_case({"case_ref": ref}),
            brand.list_cases({}), *(h.json for h in receiver.at(path))]
    for view in seen:
        text = json.dumps(view)
        assert "other_channel" not in text and "inspectorate" not in text, text


def test_a_retaliation_alert_reaches_the_accused_s_partners_and_never_the_accused(stack, actors, receiver):
    accused, elsewhere = unique("SUP"), unique("SUP")
    brand_ref, outsider_ref = unique("BRAND"), unique("BRAND")
    admin = actors(ADMIN)
    link_partner(admin, brand_ref, accused)
    link_partner(admin, outsider_ref, elsewhere)
    alerts = {"event_types": ["retaliation.reported"]}
    paths = {who: f"/alerts/{who}" for who in (brand_ref, outsider_ref, "lead")}
    actors(partner(brand_ref)).notifications.register_webhook({"url": receiver.url(paths[brand_ref]), **alerts})
    outsider = actors(partner(outsider_ref)).notifications.register_webhook(
        {"url": receiver.url(paths[outsider_ref]), **alerts})
    actors(SAFEGUARDING).notifications.register_webhook({"url": receiver.url(paths["lead"]), **alerts})
    accused_hooks = actors(supplier(accused)).notifications
    with pytest.raises(InvalidInput):  # the accused, a registered party, cannot subscribe to alerts
        accused_hooks.register_webhook({"url": receiver.url("/accused"), **alerts})
    # It may follow its own cases (DOMAIN.md "Never": still no alert reaches it).
    accused_hooks.register_webhook({"url": receiver.url("/accused"),
                                    "event_types": ["case.status_changed", "case.deadline_escalated"]})

    response = post_grievance(stack, report(accused, text="They threatened to deport us for complaining.",
                                             retaliation=True))
    ref = response.json()["case_ref"]
    for who in (brand_ref, "lead"):
        receiver.wait(paths[who], lambda got: ref in case_refs_at(receiver, paths[who]))
    # The alert lane logs once its fan-out (every send and its record) is done.
    log = stack.procs["notifications_alerts"].log_path
    eventually(lambda: any("retaliation_alert_dispatched" in line and ref in line
                           for line in log.read_text().splitlines()))
    assert ref not in case_refs_at(receiver, paths[outsider_ref])
    assert not [h for h in receiver.at("/accused") if h.json["type"] == "retaliation.reported"]
    assert actors(partner(outsider_ref)).notifications.list_deliveries(
        {"subscription_id": outsider["subscription_id"]})["items"] == []
