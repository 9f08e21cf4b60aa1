"""The safeguarding alert's lifecycle (issues 11 and 14) on the fakes: the lead
resolves an alert (off the queue, on the case's trail), the case's severity may be
lowered only once none of its alerts is open; an alert nobody acknowledges in time
raises ``safeguarding.alert_unacknowledged`` once, claimed by one of two replicas;
acknowledging first stops it."""
from datetime import timedelta

import pytest

from services.remediation import alerts, handlers
from services.remediation.domain import Case
from services.remediation.safeguarding import Alert
from shared.contracts.events import iso
from shared.errors import InvalidTransition
from tests.fakes import unit_of_work
from tests.unit.test_handlers_remediation_validation import NOW, POLICY, STAFF
from tests.unit.test_safeguarding import LEAD, FakeAlertStore, alert_event, open_case

ACK_MINUTES = 15


class FakeAlertTimerStore(FakeAlertStore):
    def backup_due(self, now_iso, limit):
        due = sorted((d for d in self.docs.values() if d.get("backup_due_at") and d["backup_due_at"] <= now_iso),
                     key=lambda d: d["backup_due_at"])
        return [d["_id"] for d in due[:limit]]


@pytest.fixture
def units():
    cases = unit_of_work(Case, consumer="remediation.test")
    return unit_of_work(Alert, repo=FakeAlertTimerStore(), consumer="remediation.test"), cases


def raise_alert(units, alert_id, at=NOW):
    alerts.record_alert(units[0], units[1], alert_event(alert_id, at=at), at, POLICY, ACK_MINUTES)


def resolve(units, alert_id, note="moved; legal support arranged"):
    return alerts.resolve_alert(units[0], units[1], {"alert_id": alert_id, "resolution": note}, LEAD, NOW)


def triage(units, severity):
    return handlers.triage(units[1], {"case_ref": "ILM-1", "severity": severity, "note": None}, STAFF, NOW)


def test_the_lead_resolves_an_alert_it_leaves_the_queue_and_is_on_the_staff_trail(units):
    open_case(units)
    raise_alert(units, "a1")
    view = resolve(units, "a1")
    assert (view["status"], view["resolved_by"], view["resolution"]) == ("resolved", "lead-ana",
                                                                        "moved; legal support arranged")
    assert view["acknowledged_by"] == "lead-ana" and view["backup_due_at"] is None   # resolving acknowledges
    assert alerts.list_alerts(units[0], {"limit": 10, "after": None})["items"] == []
    case = units[1].get("ILM-1")
    assert case.alerts == [] and case.audit[-1]["action"] == "resolve_alert"
    assert case.audit[-1]["detail"]["alert_id"] == "a1"
    assert "resolve_alert" not in repr(case.business_view())
    with pytest.raises(InvalidTransition, match="resolved by lead-ana"):
        resolve(units, "a1")


def test_severity_is_lowered_only_once_the_last_open_alert_is_resolved(units):
    open_case(units)
    raise_alert(units, "a1")
    raise_alert(units, "a2", at=NOW + timedelta(minutes=1))
    resolve(units, "a1")
    with pytest.raises(InvalidTransition, match=r"alert is open \(a2\)"):
        triage(units, "normal")
    resolve(units, "a2")
    assert triage(units, "normal")["severity"] == "normal"


def test_a_resolved_alert_is_not_linked_again_by_a_redelivered_grievance(units):
    open_case(units)
    raise_alert(units, "a1")
    resolve(units, "a1")
    open_case(units)        # grievance.received again: links waiting alerts, not resolved ones
    case = units[1].get("ILM-1")
    assert case.alerts == [] and case.link_alert("a1", "follow_up", NOW, POLICY) is False


def test_resolving_again_puts_right_a_case_a_crash_left_listing_the_alert(units):
    open_case(units)
    raise_alert(units, "a1")
    units[0].change("a1", lambda a: a.resolve(LEAD, NOW, "done"))      # the case write was lost
    assert units[1].get("ILM-1").alerts == ["a1"]
    with pytest.raises(InvalidTransition):
        resolve(units, "a1")
    assert units[1].get("ILM-1").alerts == []


# --- the backup timer -------------------------------------------------------------------

def told(units) -> list[dict]:
    return [e for e in units[0].relay.published if e["event_type"] == "safeguarding.alert_unacknowledged"]


def test_an_unacknowledged_alert_tells_the_backup_contact_once_without_any_worker_fact(units):
    open_case(units)
    raise_alert(units, "a1")
    due = NOW + timedelta(minutes=ACK_MINUTES)
    assert units[0].repo.load("a1")["backup_due_at"] == iso(due)
    assert alerts.notify_unacknowledged(units[0], due - timedelta(seconds=1)) == []
    assert alerts.notify_unacknowledged(units[0], due) == ["a1"]
    assert alerts.notify_unacknowledged(units[0], due + timedelta(hours=1)) == []
    [event] = told(units)
    assert event["case_ref"] == "ILM-1" and event["source"] == "remediation"
    assert event["data"] == {"alert_id": "a1", "kind": "retaliation", "work_area": "working_conditions",
                             "reported_at": iso(NOW), "minutes_waited": 15.0}
    assert units[0].repo.load("a1")["backup_told_at"] == iso(due)


def test_acknowledging_in_time_stops_it(units):
    open_case(units)
    raise_alert(units, "a1")
    alerts.acknowledge_alert(units[0], units[1], {"alert_id": "a1", "note": None}, LEAD, NOW + timedelta(minutes=5))
    assert alerts.notify_unacknowledged(units[0], NOW + timedelta(hours=2)) == [] and told(units) == []


def test_of_two_replicas_claiming_the_same_alert_one_tells(units):
    """Replica B found the alert due and loaded it; A writes first: B's guarded write
    fails, B reloads, finds it told and writes nothing."""
    open_case(units)
    raise_alert(units, "a1")
    due = NOW + timedelta(minutes=ACK_MINUTES)
    repo = units[0].repo
    found_by_b, stale = repo.backup_due(iso(due), 10), repo.load("a1")
    other = unit_of_work(Alert, repo=repo, relay=units[0].relay, consumer="remediation.b")
    assert alerts.notify_unacknowledged(units[0], due) == ["a1"]
    writes, loads, original = repo.writes, [], repo.load

    def load_stale_first(doc_id):
        loads.append(doc_id)
        return stale if len(loads) == 1 else original(doc_id)
    repo.load, repo.backup_due = load_stale_first, lambda now, limit: found_by_b
    assert alerts.notify_unacknowledged(other, due) == []
    assert len(loads) == 2 and repo.writes == writes and len(told(units)) == 1
