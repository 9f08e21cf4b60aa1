"""Remediation's service class in-process: its entrypoints wired to its handlers,
settings taken from the container config, timers at the configured interval."""
import eventlet
import pytest
from nameko.testing.services import entrypoint_hook, replace_dependencies, worker_factory

from services.remediation.domain import Case
from services.remediation.parties import Party
from services.remediation.report_tables import ReportCounts
from services.remediation.reports import BusinessRecord
from services.remediation.service import RemediationService
from shared.config import settings
from shared.contracts.events import GRIEVANCE_RECEIVED, make_event, utc_now
from shared.auth import TOKEN_KEY
from shared.errors import Forbidden, InvalidInput, Unauthorized
from tests.fakes import FakeCaller, FakePartyStore, FakeRepository, unit_of_work
from tests.principals import ADMIN, CASE_WORKER, context, partner, supplier

GRIEVANCE = {
    "worker_key": "wk_" + "a" * 32, "channel": "hotline", "language": "th", "work_area": "working_conditions",
    "forced_labour_indicators": [], "severity": "normal", "retaliation": False, "supplier_ref": "SUP-1",
    "site_ref": None, "agency_ref": None, "received_at": "2026-11-01T09:00:00.000Z",
}


def service_with(as_=CASE_WORKER, **config_changes):
    return worker_factory(RemediationService, cases=unit_of_work(Case), records=unit_of_work(BusinessRecord),
                          parties=unit_of_work(Party, repo=FakePartyStore()), config=settings().replace(**config_changes), caller=FakeCaller(as_))


def test_refer_uses_the_deadline_policy_of_the_container():
    service = service_with(deadlines={"critical": (1, 1, 1), "high": (1, 1, 1), "normal": (3, 9, 30)})
    service.on_grievance_received(make_event(GRIEVANCE_RECEIVED, "ILM-1", GRIEVANCE, "c"))
    service.triage({"case_ref": "ILM-1"})
    case = service.refer({"case_ref": "ILM-1", "business_ref": "SUP-1", "business_type": "supplier"})
    started, due = case["deadlines"]["acknowledge"]["started"], case["deadlines"]["acknowledge"]["due"]
    from services.remediation.domain import days_between
    assert round(days_between(started, due)) == 3


def test_a_payload_is_checked_before_any_handler_runs():
    service = service_with()
    with pytest.raises(InvalidInput) as bad:
        service.refer({"case_ref": "ILM-1", "business_type": "landlord"})
    assert set(bad.value.errors) == {"business_ref", "business_type"}
    assert service.cases.repo.writes == 0


class CountsStore(FakeRepository):
    """The report counts of one business, and the release the timer stores."""
    def __init__(self):
        super().__init__()
        self.docs["SUP-1"] = {"_id": "SUP-1", "_rev": 1, "scope": "SUP-1", "paid": {},
                              "cells": {"work_area": {"working_conditions": {"open": 12}}}}
        self.saved, self.tables = eventlet.event.Event(), None

    def of_scopes(self, scopes=None):
        return [d for ref, d in self.docs.items() if scopes is None or ref in scopes]

    def save_tables(self, tables):
        self.tables = tables
        if not self.saved.ready():
            self.saved.send(tables)

    def latest_tables(self):
        return self.tables


class GaugeStore(FakeRepository):
    def count_open_by_status(self):
        return {}

    def count_overdue(self, now_iso):
        return {}

    def count_escalated(self):
        return {}


def test_timers_run_at_the_interval_the_container_was_given(container_factory, make_config):
    container = container_factory(RemediationService, make_config(public_report_interval=0.05))
    counts = CountsStore()
    replace_dependencies(container, cases=unit_of_work(Case, repo=GaugeStore()), records=unit_of_work(BusinessRecord),
                         parties=unit_of_work(Party), report_counts=unit_of_work(ReportCounts, repo=counts))
    container.start()
    with eventlet.Timeout(5):
        tables = counts.saved.wait()            # the default interval is 300 s
    assert tables["tables"]["work_area"]["rows"]["working_conditions"]["open"] == 12
    with entrypoint_hook(container, "public_report", context_data=context(partner("BRAND-1"))) as public_report:
        assert public_report({})["by_work_area"]["working_conditions"]["open"] == 12


@pytest.mark.parametrize("data", [{}, {TOKEN_KEY: "forged"}, context(supplier("SUP-1"))])
def test_the_container_takes_the_actor_from_a_valid_token_only(container_factory, make_config, data):
    # No token, a forged one, or a role the entrypoint does not allow: refused before the payload is read.
    container = container_factory(RemediationService, make_config())
    replace_dependencies(container, cases=unit_of_work(Case), records=unit_of_work(BusinessRecord),
                         parties=unit_of_work(Party))
    container.start()
    with pytest.raises((Unauthorized, Forbidden)):
        with entrypoint_hook(container, "triage", context_data=data) as triage:
            triage({"case_ref": "ILM-1", "actor": {"id": "cw-1", "role": "case_worker"}})


def test_the_registry_entrypoints_are_for_staff_and_admins_and_scope_a_partner_by_it(container_factory, make_config):
    container = container_factory(RemediationService, make_config())
    parties = unit_of_work(Party, repo=FakePartyStore())
    cases = unit_of_work(Case)
    replace_dependencies(container, cases=cases, records=unit_of_work(BusinessRecord), parties=parties)
    container.start()
    cases.create("ILM-1", Case.open("ILM-1", GRIEVANCE, utc_now()))   # of SUP-1
    cases.create("ILM-2", Case.open("ILM-2", {**GRIEVANCE, "supplier_ref": "SUP-2"}, utc_now()))

    def call(principal, method, payload):
        with entrypoint_hook(container, method, context_data=context(principal)) as hook:
            return hook(payload)

    for ref, kind in (("SUP-1", "supplier"), ("BRAND-1", "partner")):
        call(ADMIN, "register_party", {"ref": ref, "kind": kind, "name": ref})
    for who in (supplier("SUP-1"), partner("BRAND-1")):
        with pytest.raises(Forbidden):
            call(who, "link_parties", {"ref": "BRAND-1", "link": "sources_from", "to_ref": "SUP-1"})
    with pytest.raises(Forbidden):
        call(partner("BRAND-1"), "get_case", {"case_ref": "ILM-1"})          # not linked yet
    linked = call(CASE_WORKER, "link_parties", {"ref": "BRAND-1", "link": "sources_from", "to_ref": "SUP-1"})
    assert linked["chain"]["suppliers"] == ["SUP-1"] and linked["audit"][-1]["actor"]["id"] == CASE_WORKER.id

    brand = partner("BRAND-1")
    assert call(brand, "get_party", {"ref": "BRAND-1"})["chain_version"] == 1
    assert "worker_key" not in call(brand, "get_case", {"case_ref": "ILM-1"})
    with pytest.raises(Forbidden):
        call(brand, "get_case", {"case_ref": "ILM-2"})
    assert [c["case_ref"] for c in call(brand, "list_cases", {})["items"]] == ["ILM-1"]
    assert call(brand, "supplier_scorecard", {"business_ref": "SUP-1"})["business_ref"] == "SUP-1"
    compared = call(brand, "chain_scorecards", {})
    assert [c["business_ref"] for c in compared["items"]] == ["SUP-1"]
    assert compared["items"][0]["open_cases_by_age"] == {"up_to_7_days": 0, "8_to_30_days": 0,
                                                         "31_to_90_days": 0, "over_90_days": 0}
    with pytest.raises(Forbidden):
        call(brand, "supplier_scorecard", {"business_ref": "SUP-2"})
    with pytest.raises(Forbidden):
        call(brand, "list_parties", {})
    assert [p["ref"] for p in call(ADMIN, "list_parties", {})["items"]] == ["BRAND-1", "SUP-1"]
    with pytest.raises(InvalidInput) as bad:
        call(ADMIN, "register_party", {"ref": "x", "kind": "buyer", "name": "X"})
    assert set(bad.value.errors) == {"ref", "kind"}
    with pytest.raises(Forbidden):                     # no case work for admins
        call(ADMIN, "list_cases", {})
