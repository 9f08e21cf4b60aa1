"""Intake's use cases: a new grievance, and a worker's later acts on a case
(validation answers, follow-ups, status, withdrawal). Identity is sealed by the vault before anything
is stored; the domain decides severity and whether a message reports retaliation."""
from __future__ import annotations

import json
from datetime import datetime

from services.intake import erasure
from services.intake.domain import Grievance, new_case_ref
from shared.auth import Principal
from shared.contracts.common import FINAL_CASE_STATES, WORKER_ROLES
from shared.errors import InvalidTransition, NotFound, ReferenceExhausted
from shared.logging import bind, get_logger
from shared.rpc import call_within

log = get_logger(__name__)
REFERENCE_TRIES = 5
RPC_SECONDS = 10.0     # a worker's page waits at most this for the case service


def submit_grievance(grievances, vault, receipts, report: dict, now: datetime,
                     new_ref=new_case_ref, prepare=None) -> tuple[Grievance, str]:
    """Store a new grievance under a fresh reference (another on the rare collision)
    with the hash of the worker's receipt; returns it with the receipt, shown once.
    Never answers for a case it did not store: after REFERENCE_TRIES it raises.
    ``prepare(grievance, receipt)`` adds what must be stored with it (a chat thread
    and the reply carrying the receipt), in the same write."""
    worker_key = vault.worker_key(report["contact"])
    receipt, receipt_hash = receipts.issue()
    for _ in range(REFERENCE_TRIES):
        case_ref = new_ref()
        bind(case_id=case_ref)
        sealed_contact = vault.seal(json.dumps(report["contact"]), case_ref) if report["contact"] else None
        grievance = Grievance.receive(report, case_ref, worker_key, vault.seal(report["text"], case_ref),
                                      sealed_contact, now, receipt_hash)
        if prepare:
            prepare(grievance, receipt)
        if grievances.create(case_ref, grievance):
            log.info("grievance_received", severity=grievance.severity, retaliation=grievance.retaliation)
            return grievance, receipt
    log.error("case_reference_exhausted", tries=REFERENCE_TRIES)
    raise ReferenceExhausted(f"no free case reference after {REFERENCE_TRIES} tries")


def record_call(grievances, vault, receipts, p: dict, actor: dict, now: datetime) -> dict:
    """A case worker records a hotline call, a visit or an NGO's referral (for a group,
    with its count). The receipt is shown once, to the case worker, to read to the worker."""
    def recorded(grievance, _receipt):
        grievance.workers_count, grievance.referred_by = p["workers_count"], p["referred_by"]
        grievance.recorded_by = {"id": actor["id"], "role": actor["role"]}

    grievance, receipt = submit_grievance(grievances, vault, receipts, p, now, prepare=recorded)
    return {"case_ref": grievance.case_ref, "receipt": receipt, "severity": grievance.severity,
            "retaliation_alert": grievance.retaliation, "workers_count": grievance.workers_count}


def submit_validation_answer(grievances, vault, receipts, case_ref: str, body: dict, source: str,
                             now: datetime) -> bool:
    """The worker's own answer (proved by the receipt). Returns whether it reports
    retaliation (an alert is then raised)."""
    receipts.prove(grievances, case_ref, body["receipt"], source, now)
    sealed = vault.seal(body["text"], case_ref) if body["text"] else None
    return _add_message(grievances, case_ref, "validation_answer", lambda g: g.submit_validation_answer(
        body["answer"], sealed, body["retaliation"], body["text"], now, body.get("voice_suppression", False)))


def submit_follow_up(grievances, vault, receipts, case_ref: str, body: dict, source: str,
                     now: datetime) -> bool:
    """Anything the worker adds later (proved by the receipt); a reprisal reported
    here raises an alert."""
    receipts.prove(grievances, case_ref, body["receipt"], source, now)
    sealed = vault.seal(body["text"], case_ref)
    return _add_message(grievances, case_ref, "follow_up", lambda g: g.add_follow_up(
        sealed, body["retaliation"], body["text"], now, body.get("voice_suppression", False)))


def case_status(grievances, receipts, caller, remediation, case_ref: str, body: dict, source: str,
                now: datetime) -> dict:
    """Where the worker's own case stands (proved by the receipt): remediation's
    worker view, asked as this worker (intake vouches for them with a signed token)."""
    grievance = _proved(grievances, receipts, case_ref, body, source, now)
    try:
        return as_worker(caller, grievance, remediation.get_case)
    except NotFound:          # remediation has not opened it yet: the report is in
        return {"case_ref": case_ref, "status": "received", "validation_open": False}


def withdraw(grievances, receipts, caller, remediation, case_ref: str, body: dict, source: str,
             now: datetime, vault=None) -> dict:
    """Only the worker withdraws a case: proved by the receipt, done as the worker.
    With ``delete_my_data`` the case's worker data is crypto-erased once the
    withdrawal succeeded, or the case was over already (and retried by the retention
    sweep if that fails)."""
    grievance = _proved(grievances, receipts, case_ref, body, source, now)
    try:
        view = as_worker(caller, grievance, remediation.withdraw, reason=body["reason"])
        log.info("case_withdrawn_by_worker")
    except NotFound:
        raise InvalidTransition(f"case {case_ref} is still being registered; try again in a minute") from None
    except InvalidTransition:
        # Over already (withdrawn or closed): the worker may still ask to be erased.
        view = as_worker(caller, grievance, remediation.get_case)
        if not body.get("delete_my_data") or view["status"] not in FINAL_CASE_STATES:
            raise
    if body.get("delete_my_data"):
        erasure.erase_now(grievances, vault, case_ref, erasure.WORKER_REQUEST, now)
    return view


def reissue_receipt(grievances, receipts, p: dict, actor: dict, now: datetime) -> dict:
    """Staff give a worker who lost the receipt a new one (shown once, to staff, who
    pass it on); the old receipt stops working and failed-try counters are cleared."""
    bind(case_id=p["case_ref"])
    receipt, receipt_hash = receipts.issue()
    grievances.change(p["case_ref"], lambda g: g.reissue_receipt(receipt_hash, actor, p["reason"], now))
    receipts.guard.succeeded(p["case_ref"])
    log.info("receipt_reissued", by_role=actor["role"])
    return {"case_ref": p["case_ref"], "receipt": receipt}


def as_worker(caller, grievance, method, *, seconds: float = RPC_SECONDS, **payload):
    """Call remediation as this case's worker: intake vouches for them, once the receipt
    (the worker's page) or the chat itself (services/intake/conversation.py) proved the
    case is theirs."""
    caller.vouch(Principal(id=grievance.worker_key, role=WORKER_ROLES[0], case_ref=grievance.case_ref))
    return call_within(seconds, method, {"case_ref": grievance.case_ref, **payload})


def _proved(grievances, receipts, case_ref, body, source, now) -> Grievance:
    """The worker's grievance, once the receipt proved it is theirs."""
    bind(case_id=case_ref)
    return receipts.prove(grievances, case_ref, body["receipt"], source, now)


def _add_message(grievances, case_ref: str, kind: str, add) -> bool:
    bind(case_id=case_ref)
    retaliation = grievances.change(case_ref, add).result
    log.info("case_message_received", kind=kind, retaliation=retaliation)
    return retaliation
