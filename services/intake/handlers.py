"""Intake's use cases: a new grievance, and a worker's later messages on a case
(validation answers, follow-ups). Identity is sealed by the vault before anything
is stored; the domain decides severity and whether a message reports retaliation."""
from __future__ import annotations

import json
from datetime import datetime

from services.intake.domain import Grievance, new_case_ref
from shared.errors import ReferenceExhausted
from shared.logging import bind, get_logger

log = get_logger(__name__)
REFERENCE_TRIES = 5


def submit_grievance(grievances, vault, receipts, report: dict, now: datetime,
                     new_ref=new_case_ref) -> tuple[Grievance, str]:
    """Store a new grievance under a fresh reference (another on the rare collision)
    with the hash of the worker's receipt; returns it with the receipt, shown once.
    Never answers for a case it did not store: after REFERENCE_TRIES it raises."""
    worker_key = vault.worker_key(report["contact"])
    receipt, receipt_hash = receipts.issue()
    for _ in range(REFERENCE_TRIES):
        case_ref = new_ref()
        bind(case_id=case_ref)
        sealed_contact = vault.seal(json.dumps(report["contact"]), case_ref) if report["contact"] else None
        grievance = Grievance.receive(report, case_ref, worker_key, vault.seal(report["text"], case_ref),
                                      sealed_contact, now, receipt_hash)
        if grievances.create(case_ref, grievance):
            log.info("grievance_received", severity=grievance.severity, retaliation=grievance.retaliation)
            return grievance, receipt
    log.error("case_reference_exhausted", tries=REFERENCE_TRIES)
    raise ReferenceExhausted(f"no free case reference after {REFERENCE_TRIES} tries")


def submit_validation_answer(grievances, vault, receipts, case_ref: str, body: dict, source: str,
                             now: datetime) -> bool:
    """The worker's own answer (proved by the receipt). Returns whether it reports
    retaliation (an alert is then raised)."""
    receipts.prove(grievances, case_ref, body["receipt"], source, now)
    sealed = vault.seal(body["text"], case_ref) if body["text"] else None
    return _add_message(grievances, case_ref, "validation_answer", lambda g: g.submit_validation_answer(
        body["answer"], sealed, body["retaliation"], body["text"], now))


def submit_follow_up(grievances, vault, receipts, case_ref: str, body: dict, source: str,
                     now: datetime) -> bool:
    """Anything the worker adds later (proved by the receipt); a reprisal reported
    here raises an alert."""
    receipts.prove(grievances, case_ref, body["receipt"], source, now)
    sealed = vault.seal(body["text"], case_ref)
    return _add_message(grievances, case_ref, "follow_up", lambda g: g.add_follow_up(
        sealed, body["retaliation"], body["text"], now))


def _add_message(grievances, case_ref: str, kind: str, add) -> bool:
    bind(case_id=case_ref)
    retaliation = grievances.change(case_ref, add).result
    log.info("case_message_received", kind=kind, retaliation=retaliation)
    return retaliation
