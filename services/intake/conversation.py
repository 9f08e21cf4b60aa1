"""The conversation on a worker's chat (LINE, WhatsApp, Messenger, Viber, SMS).

A first message opens a grievance and is answered, on the same chat and in the
worker's language, with the case reference, the receipt and what happens next.
Later messages from that chat attach to its open case: STATUS, STOP (withdraw, once a
second STOP confirms), the YES / PARTLY / NO / UNSAFE answer to a validation question
(services/intake/chat_validation.py), or anything else as a follow-up for the case
worker. Proof that the case is the worker's is the chat itself: only the provider,
which signed the request, can say a message came from that chat.

Every effect and the reply it calls for are stored in one write (the thread lives on
the grievance, services/intake/chat_thread.py); services/intake/replies.py sends.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from services.intake import chat_validation, handlers, messages as say_
from services.intake.channels.base import Inbound
from services.intake.inbox import message_key
from services.intake.texts import say
from services.intake.words import detect_language, intent_of
from shared.errors import InvalidTransition, NotFound
from shared.logging import bind, get_logger

log = get_logger(__name__)
MAX_TEXT = 4000            # longer: the worker is asked to split it (SMS and chat apps cut around here)
CONTACT_FIELD = {"line": "line_id", "whatsapp": "whatsapp", "facebook_messenger": "messenger_id",
                 "viber": "viber_id", "sms": "phone"}
# A first guess of the work area from the first message; the case worker corrects it
# at triage. Recruitment words first: fees and debts are the commonest grievance.
AREA_WORDS = (
    ("labour_recruitment", ("fee", "agent", "agency", "recruit", "debt", "loan", "passport", "visa",
                            "ค่านายหน้า", "นายหน้า", "หนี้", "พาสปอร์ต")),
    ("living_eating_conditions", ("dorm", "housing", "room", "food", "water", "toilet", "หอพัก", "ที่พัก",
                                  "อาหาร")),
    ("employer_employee_relations", ("supervisor", "boss", "union", "contract", "fired", "หัวหน้า", "สัญญา")),
)


def guess_work_area(text: str) -> str:
    folded = text.casefold()
    return next((area for area, words in AREA_WORDS if any(w in folded for w in words)), "working_conditions")


@dataclass
class Chat:
    """What the conversation needs, handed over by the service's entrypoint."""
    grievances: object     # UnitOfWork over GrievanceStore
    vault: object
    receipts: object
    caller: object
    remediation: object
    inbox: object
    sender: object
    rpc_seconds: float = handlers.RPC_SECONDS
    touched: set = field(default_factory=set)    # cases given replies: the entrypoint sends those now

    def tell(self, g, now: datetime, message: str, **params) -> None:
        """Queue ``message`` for the chat of grievance ``g``, in its language, sealed with its key."""
        g.queue_reply(self.vault.seal(say(message, g.language, **params), g.case_ref), now)
        self.touched.add(g.case_ref)


def receive(chat: Chat, msg: Inbound, now: datetime) -> str:
    """Handle one provider message once; returns what was done (for logs and tests)."""
    key = message_key(msg.channel, msg.message_id)
    if not chat.inbox.claim(key, now):
        return "duplicate"
    try:
        outcome = _handle(chat, msg, key, now)
    except Exception:
        chat.inbox.release(key)
        raise
    chat.inbox.done(key)
    log.info("chat_message_handled", channel=msg.channel, kind=msg.kind, outcome=outcome)
    return outcome


def _handle(chat: Chat, msg: Inbound, key: str, now: datetime) -> str:
    chat_key = chat.vault.chat_key(msg.channel, msg.chat_id)
    case_ref = chat.grievances.repo.open_case_of_chat(chat_key)
    problem = _unreadable(msg)
    if case_ref is None:
        if problem:         # nothing to open a case with, and nobody to file the answer under
            message, params = problem
            chat.sender.try_send(msg.channel, msg.chat_id, msg.account,
                                 say(message, detect_language(msg.text or ""), **params))
            return "unreadable"
        return _open_case(chat, msg, key, chat_key, now)
    bind(case_id=case_ref)
    grievance = chat.grievances.load(case_ref)
    if grievance.has_seen(key):
        return "duplicate"
    if problem:
        message, params = problem
        _reply(chat, case_ref, key, now, message, **params)
        return "unreadable"
    intent = intent_of(msg.text, msg.payload)
    if intent == "status":
        return _status(chat, grievance, key, now)
    if intent == "withdraw" and not grievance.withdrawal_asked:
        return _ask_to_confirm_withdrawal(chat, case_ref, key, now)
    if intent == "withdraw":
        return _withdraw(chat, grievance, msg, key, now)
    if intent in chat_validation.ANSWERS:
        answered = chat_validation.answer(chat, grievance, intent, msg.text, key, now)
        if answered:
            return answered
    # UNSAFE with no question waiting still tells of danger: the alert, as a flag would.
    return _follow_up(chat, case_ref, msg.text, key, now, flagged=intent == "unsafe")


def _unreadable(msg: Inbound):
    if msg.kind == "unsupported" or not (msg.text or "").strip():
        return say_.NOT_TEXT, {}
    if len(msg.text) > MAX_TEXT:
        return say_.TOO_LONG, {"limit": MAX_TEXT}
    return None


def _open_case(chat: Chat, msg: Inbound, key: str, chat_key: str, now: datetime) -> str:
    report = {"channel": msg.channel, "language": detect_language(msg.text) or "en",
              "work_area": guess_work_area(msg.text), "text": msg.text,
              "contact": {CONTACT_FIELD[msg.channel]: msg.chat_id}, "forced_labour_indicators": [],
              "retaliation": False, "consent_to_share_identity": False}

    def thread(grievance, receipt):
        grievance.link_chat(chat_key, msg.channel, chat.vault.seal(msg.chat_id, grievance.case_ref), msg.account,
                            key)
        chat.tell(grievance, now, say_.OPENED, case_ref=grievance.case_ref, receipt=receipt)
        if grievance.retaliation:
            chat.tell(grievance, now, say_.SAFETY_FIRST)

    handlers.submit_grievance(chat.grievances, chat.vault, chat.receipts, report, now, prepare=thread)
    return "opened"


def _follow_up(chat: Chat, case_ref: str, text: str, key: str, now: datetime, flagged: bool = False) -> str:
    sealed = chat.vault.seal(text, case_ref)
    chat.grievances.change(case_ref, lambda g: _add_follow_up(chat, g, sealed, text, key, now, flagged))
    return "follow_up"


def _add_follow_up(chat: Chat, g, sealed: str, text: str, key: str, now: datetime, flagged: bool = False) -> None:
    retaliation = g.add_follow_up(sealed, flagged, text, now)
    chat.tell(g, now, say_.ADDED, case_ref=g.case_ref)
    if retaliation:
        chat.tell(g, now, say_.SAFETY_FIRST)
    g.saw(key)


def _status(chat: Chat, g, key: str, now: datetime) -> str:
    try:
        status = handlers.as_worker(chat.caller, g, chat.remediation.get_case, seconds=chat.rpc_seconds)["status"]
    except NotFound:             # remediation has not opened it yet: the report is in
        status = "received"
    _reply(chat, g.case_ref, key, now, say_.STATUS, case_ref=g.case_ref, status=_status_name(g, status))
    return "status"


def _ask_to_confirm_withdrawal(chat: Chat, case_ref: str, key: str, now: datetime) -> str:
    def ask(g):
        g.ask_to_confirm_withdrawal(key)
        chat.tell(g, now, say_.CONFIRM_WITHDRAW, case_ref=case_ref)
    chat.grievances.change(case_ref, ask)
    return "withdrawal_asked"


def _withdraw(chat: Chat, g, msg: Inbound, key: str, now: datetime) -> str:
    case_ref = g.case_ref
    try:
        handlers.as_worker(chat.caller, g, chat.remediation.withdraw, seconds=chat.rpc_seconds,
                           reason=f"asked for by the worker on {msg.channel}")
    except NotFound:
        _reply(chat, case_ref, key, now, say_.STILL_REGISTERING, case_ref=case_ref)
        return "not_yet"
    except InvalidTransition:
        status = handlers.as_worker(chat.caller, g, chat.remediation.get_case, seconds=chat.rpc_seconds)["status"]
        _reply(chat, case_ref, key, now, say_.CANNOT_WITHDRAW, case_ref=case_ref, status=_status_name(g, status))
        return "not_withdrawn"

    def ended(g):
        g.end("withdrawn", now)
        chat.tell(g, now, say_.WITHDRAWN, case_ref=case_ref)
        g.saw(key)

    chat.grievances.change(case_ref, ended)
    log.info("case_withdrawn_by_worker", channel=msg.channel)
    return "withdrawn"


# --- helpers -----------------------------------------------------------------
def _status_name(g, status: str) -> str:
    return say(say_.STATUS_NAMES.get(status, status), g.language)


def _reply(chat: Chat, ref: str, key: str, now: datetime, message: str, **params) -> None:
    """Queue one reply to the chat of case ``ref``, with the message marked as seen."""
    def queue(g):
        chat.tell(g, now, message, **params)
        g.saw(key)
    chat.grievances.change(ref, queue)
