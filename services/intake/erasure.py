"""Crypto-erasure of a case's worker data: at the worker's request (withdrawal with
"delete my data") or when the retention period after closure is over.

Erasing is three steps, each safe to repeat: claim the case (a revision-guarded
write: one replica wins, and its claim expires if it crashes), delete the case's
data key in the vault (every sealed value of the case, wherever it is, becomes
unreadable), then drop the sealed fields from the grievance and put the erasure on
its trail. A crash between steps leaves the case due and claimed for a while; the
next sweep after the claim expires finishes it."""
from __future__ import annotations

from datetime import datetime, timedelta

from shared.contracts.common import FINAL_CASE_STATES
from shared.contracts.events import iso
from shared.errors import ConcurrentUpdate, NotFound
from shared.logging import bind, get_logger

log = get_logger(__name__)
WORKER_REQUEST, RETENTION = "worker_request", "retention"
CLAIM_SECONDS = 300.0      # long enough for one erasure; a crashed replica's claim then expires
SWEEP_BATCH = 100


def erase_now(grievances, vault, case_ref: str, why: str, now: datetime,
              claim_seconds: float = CLAIM_SECONDS) -> bool:
    """Erase ``case_ref`` now (recorded as due first, so a failure is retried by the
    sweep). False when another replica holds it or it was erased already."""
    grievances.change(case_ref, lambda g: g.schedule_erasure(now, why), skip_unchanged=True)
    return _erase_due(grievances, vault, case_ref, now, claim_seconds)


def schedule_after_final(grievances, event: dict, retention_days: float):
    """``case.status_changed``: a case that reached a final state is erased
    ``retention_days`` after it did (an earlier date already set stays), and its chat
    thread ends (the chat's next message opens a new case): one write for the event."""
    data = event["data"]
    if data["to_status"] not in FINAL_CASE_STATES:
        return None
    bind(case_id=event["case_ref"])
    ended = datetime.fromisoformat(data["changed_at"].replace("Z", "+00:00"))
    at = ended + timedelta(days=retention_days)

    def ended_then_erased(g):
        g.end(data["to_status"], ended)
        g.schedule_erasure(at, RETENTION)

    try:
        changed = grievances.change(event["case_ref"], ended_then_erased, event=event)
    except NotFound:       # not a case intake took (nothing of a worker to erase)
        log.warning("retention_unknown_case")
        return None
    log.info("retention_scheduled" if changed.applied else "retention_event_duplicate", erase_after=iso(at))
    return changed.aggregate


def sweep(grievances, vault, now: datetime, claim_seconds: float = CLAIM_SECONDS, limit: int = SWEEP_BATCH) -> int:
    """Erase the cases that are due; returns how many this run erased."""
    erased = 0
    for case_ref in grievances.repo.due_for_erasure(iso(now), limit):
        try:
            erased += _erase_due(grievances, vault, case_ref, now, claim_seconds)
        except ConcurrentUpdate:     # busy case: the next sweep takes it
            log.warning("erasure_deferred", case_id=case_ref)
    return erased


def _erase_due(grievances, vault, case_ref: str, now: datetime, claim_seconds: float) -> bool:
    bind(case_id=case_ref)
    claimed = grievances.change(case_ref, lambda g: g.claim_erasure(now, claim_seconds), skip_unchanged=True)
    if not claimed.result:
        return False
    why = claimed.aggregate.erase_why
    vault.erase(case_ref, why)
    grievances.change(case_ref, lambda g: g.erase(now))
    log.info("case_data_erased", why=why)
    return True
