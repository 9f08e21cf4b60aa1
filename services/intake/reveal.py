"""Identity reveal and consent (rules: services/intake/reveal_rules.py). The sealed
values are opened in memory for the one answer: never stored opened, never logged.
A reveal is recorded before anything is answered: no record, no reveal."""
from __future__ import annotations

import json
from datetime import datetime

from services.intake.reveal_rules import STAFF
from shared.contracts.common import WORKER_ROLES
from shared.crypto import Erased
from shared.errors import NotFound
from shared.logging import bind, get_logger

log = get_logger(__name__)
WORKER_DOOR = "worker_receipt"      # how consent was given: by the worker, with the receipt


def reveal_identity(grievances, vault, p: dict, actor: dict, now: datetime) -> dict:
    """Staff: the worker's words and contact details; the business the case is referred
    to, with the worker's recorded consent: the contact details only."""
    ref = p["case_ref"]
    bind(case_id=ref)
    grievance = grievances.load(ref)
    basis = grievance.reveal_basis(actor)        # refused before anything is opened
    try:
        opened = _open(grievance, vault, words=basis == STAFF)
    except Erased:
        raise NotFound(f"case {ref}: the worker's identity was erased; nobody can reveal it any more") from None
    recorded = grievances.change(ref, lambda g: g.record_reveal(actor, p["reason"], now)).result
    log.info("identity_revealed", basis=recorded, by_role=actor["role"])
    return {"case_ref": ref, "basis": recorded, **opened}


def record_consent(grievances, p: dict, actor: dict, now: datetime) -> dict:
    bind(case_id=p["case_ref"])
    changed = grievances.change(p["case_ref"], lambda g: g.record_consent(p["given"], p["how"], actor, now),
                                skip_unchanged=True)
    log.info("identity_consent_recorded", given=p["given"], changed=bool(changed.result))
    return {"case_ref": p["case_ref"], "consent_to_share_identity": changed.aggregate.consent_to_share_identity}


def worker_consent(grievances, receipts, case_ref: str, body: dict, source: str, now: datetime) -> dict:
    """The worker's own consent, proved by the receipt."""
    bind(case_id=case_ref)
    grievance = receipts.prove(grievances, case_ref, body["receipt"], source, now)
    return record_consent(grievances, {"case_ref": case_ref, "given": body["given"], "how": WORKER_DOOR},
                          {"id": grievance.worker_key, "role": WORKER_ROLES[0]}, now)


def learn_business(grievances, event: dict) -> None:
    """``case.status_changed`` names the business the case is referred to: kept for
    the consent rule (a business reads identity only on its own cases)."""
    business_ref = event["data"].get("business_ref")
    if not business_ref:
        return
    try:
        grievances.change(event["case_ref"], lambda g: g.learn_business(business_ref), skip_unchanged=True)
    except NotFound:          # not a case intake took
        return


def _open(grievance, vault, words: bool) -> dict:
    ref = grievance.case_ref
    opened = {"contact": json.loads(vault.open(grievance.sealed_contact, ref)) if grievance.sealed_contact else None,
              "chat": ({"channel": grievance.chat["channel"], "id": vault.open(grievance.chat["sealed_id"], ref)}
                       if grievance.chat and grievance.chat.get("sealed_id") else None)}
    if words:
        messages = [("follow_up", m) for m in grievance.follow_ups] + [
            ("validation_answer", m) for m in grievance.validation_answers]
        opened["text"] = vault.open(grievance.sealed_text, ref) if grievance.sealed_text else None
        opened["messages"] = [{"kind": kind, "at": m["at"], "text": vault.open(m["sealed_text"], ref)}
                              for kind, m in sorted(messages, key=lambda km: km[1]["at"]) if m.get("sealed_text")]
    return opened
