"""Intake's rules: classify a report, and the grievance record with the events it
raises. Pure: no I/O, no keys (identity arrives already sealed), callers pass ``now``.
"""
from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from services.intake.chat_thread import ChatThread
from services.intake.reveal_rules import RevealRules
from services.intake.phones import DEFAULT_REGION, normalise_phone
from shared.domain import Aggregate
from shared.contracts.events import (
    GRIEVANCE_RECEIVED, RETALIATION_REPORTED, VALIDATION_ANSWER_SUBMITTED, VOICE_SUPPRESSION_REPORTED,
    WORKER_MESSAGE_RECEIVED, iso,
)
from services.intake.phrases import mentions_retaliation, mentions_voice_suppression
from shared.errors import InvalidTransition
from shared.text_patterns import FollowedBy, bounded

# Retaliation and suppression of voice in the worker's words, six languages
# (services/intake/phrases.py). Staff ticking ``retaliation`` or ``voice_suppression``
# on a call, or a form's box, is the primary signal; the text scan is a safety net.
# Severity "critical" per DOMAIN.md: retaliation, any forced-labour indicator,
# violence, child labour. Linear in the text's length (shared/text_patterns.py).
CRITICAL_PATTERNS = [FollowedBy(r"\bchild(ren)?\b", r"\bwork"), *(bounded(p) for p in (
    r"\bunder ?age", r"\bviolen", r"\brape|sexual", r"\bbeat(en)?\b",
))]
HIGH_AREAS = {"labour_recruitment", "employer_employee_relations"}
_REF_ALPHABET = "23456789ABCDEFGHJKMNPQRSTVWXYZ"   # no 0/O, 1/I/L: read over a phone


def new_case_ref() -> str:
    return "ILM-" + "".join(secrets.choice(_REF_ALPHABET) for _ in range(8))


def classify(report: dict) -> tuple[str, bool]:
    """(severity, retaliation) for a validated report."""
    retaliation = bool(report.get("retaliation")) or mentions_retaliation(report["text"])
    if retaliation or report.get("forced_labour_indicators") or any(
            p.search(report["text"]) for p in CRITICAL_PATTERNS):
        return "critical", retaliation
    if report["work_area"] in HIGH_AREAS:
        return "high", retaliation
    return "normal", retaliation


def contact_identifier(contact: dict | None, region: str = DEFAULT_REGION) -> str | None:
    """The stable handle a worker is recognised by, normalised: a phone as the digits
    of its E.164 form (numbers without a country code are in ``region``), so the
    local and the +66 form of a number are the same worker."""
    if not contact:
        return None
    for key in ("phone", "whatsapp"):
        if contact.get(key):
            return f"{key}:" + normalise_phone(contact[key], region).lstrip("+")
    for key in ("line_id", "messenger_id", "viber_id", "email"):
        if contact.get(key):
            return f"{key}:" + contact[key].strip().lower()
    return None


@dataclass
class Grievance(ChatThread, RevealRules, Aggregate):
    case_ref: str
    worker_key: str
    channel: str
    language: str
    work_area: str
    forced_labour_indicators: list
    severity: str
    retaliation: bool
    supplier_ref: str | None
    site_ref: str | None
    agency_ref: str | None
    consent_to_share_identity: bool
    received_at: str
    sealed_text: str | None          # AES-GCM token, bound to case_ref (None once erased)
    sealed_contact: str | None
    receipt_hash: str | None = None  # the worker's proof (services/intake/receipts.py)
    voice_suppression: bool = False  # a report, follow-up or answer told of suppressed voice
    validation_answers: list = field(default_factory=list)
    follow_ups: list = field(default_factory=list)   # later messages about the same case
    receipt_history: list = field(default_factory=list)  # re-issues: who, when, why (audit)
    workers_count: int = 1           # a group complaint (an NGO's referral) speaks for several
    recorded_by: dict | None = None  # the case worker who took a call or referral: {id, role}
    referred_by: str | None = None   # the NGO partner that referred it
    # The chat it came through (services/intake/chat_thread.py), if any.
    chat_key: str | None = None      # pseudonym of channel + chat id: finds the thread
    chat: dict | None = None
    replies: list = field(default_factory=list)
    replies_pending: bool = False
    ended_at: str | None = None      # closed or withdrawn: the chat's next message is a new case
    ended_as: str | None = None
    # Crypto-erasure (services/intake/erasure.py): when, why; a replica's claim on it.
    erase_after: str | None = None
    erase_why: str | None = None
    erasing_until: str | None = None
    erased_at: str | None = None
    audit: list = field(default_factory=list)            # erasure, reveals, consent: hash-chained
    business_ref: str | None = None  # the business the case is referred to (services/intake/reveal_rules.py)
    origin_country: str | None = None   # optional facts for the report tables (issue 15)
    sector: str | None = None
    raised: list = field(default_factory=list, repr=False, compare=False)

    @classmethod
    def receive(cls, report: dict, case_ref: str, worker_key: str, sealed_text: str,
                sealed_contact: str | None, now: datetime, receipt_hash: str | None = None) -> "Grievance":
        severity, retaliation = classify(report)
        g = cls(case_ref=case_ref, worker_key=worker_key, channel=report["channel"],
                language=report["language"], work_area=report["work_area"],
                forced_labour_indicators=list(report.get("forced_labour_indicators") or []),
                severity=severity, retaliation=retaliation,
                supplier_ref=report.get("supplier_ref"), site_ref=report.get("site_ref"),
                agency_ref=report.get("agency_ref"),
                consent_to_share_identity=bool(report.get("consent_to_share_identity")),
                received_at=iso(now), sealed_text=sealed_text, sealed_contact=sealed_contact,
                receipt_hash=receipt_hash, origin_country=report.get("origin_country"), sector=report.get("sector"))
        g.raised.append((GRIEVANCE_RECEIVED, {
            "worker_key": worker_key, "channel": g.channel, "language": g.language,
            "work_area": g.work_area, "forced_labour_indicators": g.forced_labour_indicators,
            "severity": severity, "retaliation": retaliation, "supplier_ref": g.supplier_ref,
            "site_ref": g.site_ref, "agency_ref": g.agency_ref, "received_at": g.received_at,
            # Only when given: consumers default them to None.
            **{k: v for k, v in (("origin_country", g.origin_country), ("sector", g.sector)) if v},
        }))
        if retaliation:
            g._raise_retaliation("grievance", now)
        g._note_voice_suppression(bool(report.get("voice_suppression")), report["text"], "grievance", now)
        return g

    def submit_validation_answer(self, answer: str, sealed_text: str | None, flagged: bool,
                                 text: str | None, now: datetime, voice_flagged: bool = False) -> bool:
        """The reporter's own answer (the receipt proved it); True when it raises the alert."""
        return self.record_validation_answer(self.worker_key, answer, sealed_text, flagged, text, now,
                                             voice_flagged=voice_flagged)

    def record_validation_answer(self, worker_key: str, answer: str, sealed_text: str | None, flagged: bool,
                                 text: str | None, now: datetime, voice_flagged: bool = False,
                                 answer_id: str | None = None, round_no: int | None = None) -> bool:
        """Record an affected worker's answer on this case (the reporter, or a co-worker
        answering on their own chat). "unsafe" is an alert as much as a reported reprisal.
        ``answer_id`` (the chat message's key) makes a retried answer change nothing.
        Returns True when it raises the retaliation alert."""
        self._not_erased()
        recorded = next((a for a in self.validation_answers if answer_id and a.get("answer_id") == answer_id), None)
        if recorded:                   # a retry after a crash: raised already, say the same again
            return recorded["retaliation"]
        retaliation = flagged or answer == "unsafe" or mentions_retaliation(text)
        entry = {"answer": answer, "sealed_text": sealed_text, "retaliation": retaliation, "at": iso(now)}
        entry.update({"answer_id": answer_id} if answer_id else {})
        entry.update({"worker_key": worker_key} if worker_key != self.worker_key else {})   # a co-worker
        self.validation_answers.append(entry)
        self.raised.append((VALIDATION_ANSWER_SUBMITTED, {
            "worker_key": worker_key, "answer": answer, "retaliation": retaliation, "submitted_at": iso(now),
            "round_no": round_no}))
        if retaliation:
            self._raise_retaliation("validation_answer", now)
        self._note_voice_suppression(voice_flagged, text, "validation_answer", now)
        self.raised.append((WORKER_MESSAGE_RECEIVED, {"kind": "validation_answer", "received_at": iso(now)}))
        return retaliation

    def add_follow_up(self, sealed_text: str, flagged: bool, text: str, now: datetime,
                      voice_flagged: bool = False) -> bool:
        """A later message on an open case (the worker again, or staff taking a call).
        Returns True when it reports retaliation, which raises an alert at once."""
        self._not_erased()
        retaliation = flagged or mentions_retaliation(text)
        self.follow_ups.append({"sealed_text": sealed_text, "retaliation": retaliation, "at": iso(now)})
        if retaliation:
            self._raise_retaliation("follow_up", now)
        self._note_voice_suppression(voice_flagged, text, "follow_up", now)
        self.raised.append((WORKER_MESSAGE_RECEIVED, {"kind": "follow_up", "received_at": iso(now)}))   # after the alert
        return retaliation

    def reissue_receipt(self, receipt_hash: str, by: dict, reason: str, now: datetime) -> None:
        """A worker who lost the receipt gets a new one through staff; the old one
        stops working, and the trail records who did it and why."""
        self.receipt_hash = receipt_hash
        self.receipt_history.append({"at": iso(now), "actor": {"id": by["id"], "role": by["role"]},
                                     "action": "reissue_receipt", "reason": reason})

    # --- crypto-erasure: the worker's request, or the retention period after closure ---
    def schedule_erasure(self, at: datetime, why: str) -> bool:
        """Erase at ``at`` (the earliest date asked wins); False if nothing changes."""
        if self.erased_at or (self.erase_after and self.erase_after <= iso(at)):
            return False
        self.erase_after, self.erase_why = iso(at), why
        return True

    def claim_erasure(self, now: datetime, lease_seconds: float) -> bool:
        """One replica erases: it holds the claim for ``lease_seconds``; a claim left
        by a crashed replica expires and the next sweep takes the case again."""
        if self.erased_at or not self.erase_after or self.erase_after > iso(now) or (
                self.erasing_until and self.erasing_until > iso(now)):
            return False
        self.erasing_until = iso(now + timedelta(seconds=lease_seconds))
        return True

    def erase(self, now: datetime) -> None:
        """After the data key is gone: drop every sealed value, keep the anonymous
        facts (areas, severity, answers, dates) and put the erasure on the trail."""
        self.sealed_text, self.sealed_contact = None, None
        for message in (*self.follow_ups, *self.validation_answers, *self.replies):
            message["sealed_text"] = None
        self.forget_chat(now)
        self.erased_at, self.erasing_until = iso(now), None
        self._trail({"action": "erase", "why": self.erase_why, "at": iso(now)})

    def _not_erased(self) -> None:
        if self.erased_at:
            raise InvalidTransition(f"case {self.case_ref}: the worker's data was erased")

    def _raise_retaliation(self, raised_from: str, now: datetime) -> None:
        self.raised.append((RETALIATION_REPORTED, self._concern(raised_from, now)))

    def _note_voice_suppression(self, flagged: bool, text: str | None, raised_from: str, now: datetime) -> None:
        """Workers kept from speaking up (told not to use the channel, phones taken,
        complaints blocked): a concern for the safeguarding lead, beside any alert."""
        if flagged or mentions_voice_suppression(text):
            self.voice_suppression = True
            self.raised.append((VOICE_SUPPRESSION_REPORTED, self._concern(raised_from, now)))

    def _concern(self, raised_from: str, now: datetime) -> dict:
        """What an alert tells: where and when, never who or what they wrote."""
        return {"alert_id": secrets.token_hex(16), "raised_from": raised_from, "work_area": self.work_area,
                "supplier_ref": self.supplier_ref, "site_ref": self.site_ref, "reported_at": iso(now)}

