"""Safeguarding use cases (``alerts`` and ``cases`` are UnitOfWorks): store each
retaliation alert or voice-suppression concern, put it on its case, and the
safeguarding lead's queue. Callers
pass the clock and the deadline policy.

The alert and its case are two documents. The alert is stored first, then linked to
the case; a case opening links the alerts already stored for it after it is created.
So whichever of ``retaliation.reported`` and ``grievance.received`` comes second
finds the other, and linking twice changes nothing."""
from __future__ import annotations

from datetime import datetime

from services.remediation.safeguarding import DEFAULT_ACK_MINUTES, Alert
from shared.contracts.common import page_of
from shared.contracts.events import iso
from shared.errors import ConcurrentUpdate, InvalidTransition, NotFound
from shared.logging import get_logger

log = get_logger(__name__)
SWEEP_BATCH = 100


def record_alert(alerts, cases, event: dict, now: datetime, policy: dict,
                 ack_minutes: float = DEFAULT_ACK_MINUTES) -> Alert:
    alert = Alert.record(event, ack_minutes)
    stored = alerts.create(alert.alert_id, alert)     # the record exists before anything else
    try:
        cases.change(alert.case_ref, lambda case: case.link_alert(alert.alert_id, alert.raised_from, now, policy,
                                                                  alert.kind), event=event)
    except NotFound:                                   # the case opens later: it links the alert then
        log.info("alert_stands_alone")
    log.info("alert_recorded" if stored else "alert_already_recorded", raised_from=alert.raised_from, kind=alert.kind)
    return alert


def link_waiting_alerts(alerts, cases, case_ref: str, now: datetime, policy: dict) -> int:
    """Open ones: an alert resolved before its case opened leaves the case as it is."""
    waiting = [a for a in map(Alert.from_dict, alerts.repo.of_case(case_ref)) if a.status == "open"]
    if waiting:
        cases.change(case_ref, lambda case: [case.link_alert(a.alert_id, a.raised_from, now, policy, a.kind)
                                             for a in waiting], skip_unchanged=True)
    return len(waiting)


def list_alerts(alerts, p: dict) -> dict:
    docs, next_key = alerts.repo.open_queue(p["limit"], p["after"])
    return page_of([Alert.from_dict(d).view() for d in docs], next_key)


def acknowledge_alert(alerts, cases, p: dict, actor: dict, now: datetime) -> dict:
    alert = _change(alerts, p, lambda a: a.acknowledge(actor, now)).aggregate
    _on_case_trail(cases, alert, actor, now, "acknowledge_alert", {"alert_id": alert.alert_id, "note": p["note"]})
    return alert.view()


def record_measure(alerts, cases, p: dict, actor: dict, now: datetime) -> dict:
    alert = _change(alerts, p, lambda a: a.add_measure(actor, now, p["measure"], p["note"])).aggregate
    _on_case_trail(cases, alert, actor, now, "record_protective_measure",
                   {"alert_id": alert.alert_id, "measure": p["measure"], "note": p["note"]})
    return alert.view()


def resolve_alert(alerts, cases, p: dict, actor: dict, now: datetime) -> dict:
    """open -> resolved, then off the case's open list (on its trail). Resolving again
    answers 409, and first puts the case right if a crash left it listing the alert."""
    changed = _change(alerts, p, lambda a: a.resolve(actor, now, p["resolution"]), skip_unchanged=True)
    alert = changed.aggregate
    try:
        cases.change(alert.case_ref, lambda case: case.close_alert(actor, now, alert.alert_id, alert.resolution),
                     skip_unchanged=True)
    except NotFound:
        log.info("alert_case_not_open", action="resolve_alert")
    if not changed.result:
        raise InvalidTransition(f"alert {alert.alert_id} was resolved by {alert.resolved_by} at {alert.resolved_at}")
    log.info("alert_resolved", alert_id=alert.alert_id)
    return alert.view()


def notify_unacknowledged(alerts, now: datetime, limit: int = SWEEP_BATCH) -> list[str]:
    """The timer: alerts whose acknowledgement time has passed raise
    ``safeguarding.alert_unacknowledged``, each claimed by its guarded write (a
    replica that loses reloads, finds it done and writes nothing)."""
    told = []
    for alert_id in alerts.repo.backup_due(iso(now), limit):
        try:
            if alerts.change(alert_id, lambda a: a.tell_backup_if_due(now), skip_unchanged=True).result:
                told.append(alert_id)
                log.warning("alert_unacknowledged", alert_id=alert_id)
        except ConcurrentUpdate:        # busy beyond the retries: the next sweep takes it
            log.warning("alert_unacknowledged_deferred", alert_id=alert_id)
    return told


def _change(alerts, p, decide, **kw):
    return alerts.change(p["alert_id"], decide, missing=lambda _: NotFound(f"alert {p['alert_id']} not found"), **kw)


def _on_case_trail(cases, alert: Alert, actor: dict, now: datetime, action: str, detail: dict) -> None:
    """On the case's audit trail; an alert whose case is not open yet keeps it alone."""
    try:
        cases.change(alert.case_ref, lambda case: case.audit_safeguarding(actor, now, action, detail))
    except NotFound:
        log.info("alert_case_not_open", action=action)
