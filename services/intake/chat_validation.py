"""Validation on the workers' own chats (issue 12).

Validation publishes ``validation.outreach_requested``: the workers of a case to ask,
by pseudonymous key only. Intake alone can reach them: each worker's chat thread is
the newest open grievance of theirs that came by chat, which may be another case than
the one validated (a co-worker added to a group case). The question goes on that
thread in its language, and the thread records which case and round it awaits.

The worker's YES / PARTLY / NO / UNSAFE answers the awaited case: the answer is
recorded by that case's grievance (with the answering worker's own key), then the
thread marks the message seen and thanks them. Two writes, in an order a crash cannot
spoil: the validated case first (it ignores a second try of the same message), then
the thread; a redelivery before the thread's write tries both again harmlessly.
A worker without a chat is only counted: the case worker reaches them in person.
"""
from __future__ import annotations

from datetime import datetime

from services.intake import messages as say_
from services.intake.texts import say
from shared.errors import InvalidTransition, NotFound
from shared.logging import get_logger

log = get_logger(__name__)
# The chat's answer words (services/intake/words.py) and the answers they give.
ANSWERS = {"yes": "confirmed", "partly": "partly", "no": "not_resolved", "unsafe": "unsafe"}


def question(language: str, case_ref: str, actions: list, reminder: bool) -> str:
    """The question in the worker's language: one line per remedy action (a general
    one when the plan named none), then the four answers."""
    opening = say(say_.VALIDATION_REMINDER if reminder else say_.VALIDATION_ASK, language, case_ref=case_ref)
    asks = [say(say_.REMEDY_QUESTIONS[a], language) for a in dict.fromkeys(actions)]
    lines = [f"- {q}" for q in asks or [say(say_.REMEDY_IN_GENERAL, language)]]
    return "\n".join([opening, *lines, say(say_.VALIDATION_HOW_TO_ANSWER, language)])


# --- the outreach -------------------------------------------------------------
def reach_out(grievances, vault, event: dict, now: datetime) -> dict:
    """Ask each worker of the event on their own chat, once per event and worker;
    returns how many were asked, how many have no chat (for logs and tests) and the
    threads given the question (to send now)."""
    data, validated = event["data"], event["case_ref"]
    asked = without_chat = 0
    threads = set()
    for worker_key in data["worker_keys"]:
        thread_ref = grievances.repo.chat_thread_of_worker(worker_key)
        if thread_ref is None:
            without_chat += 1
            continue
        # One idempotency key per worker: each thread is its own document, and one
        # thread's applied events must not hide the event from another's.
        once = {**event, "event_id": f"{event['event_id']}:{worker_key}"}
        changed = grievances.change(thread_ref, lambda g: _ask(vault, g, validated, data, now), event=once)
        if changed.applied and changed.result:
            asked += 1
            threads.add(thread_ref)
    log.info("validation_outreach", round_no=data["round_no"], reminder=data["reminder"], asked=asked,
             without_chat=without_chat, workers=len(data["worker_keys"]))
    return {"asked": asked, "without_chat": without_chat, "threads": threads}


def _ask(vault, g, validated: str, data: dict, now: datetime) -> bool:
    awaited = {"case_ref": validated, "round_no": data["round_no"]}
    if not g.open_for_chat or (g.awaited == awaited and not data["reminder"]):
        return False
    g.await_answer(validated, data["round_no"])
    text = question(g.language, validated, data["remedy_actions"], data["reminder"])
    g.queue_reply(vault.seal(text, g.case_ref), now)
    return True


# --- the answer -------------------------------------------------------------------
def answer(chat, thread, intent: str, text: str, key: str, now: datetime) -> str | None:
    """Apply the answer word to the case the thread awaits; None when it awaits none
    (or that case is gone): then the message is an ordinary one for the case worker."""
    awaited = thread.awaited
    if awaited is None:
        return None
    value = ANSWERS[intent]
    if awaited["case_ref"] == thread.case_ref:       # the worker's own case: one write
        def own(g):
            if g.awaited != awaited:
                return None
            return _thank(chat, g, awaited, g.record_validation_answer(
                g.worker_key, value, None, False, text, now, answer_id=key, round_no=awaited["round_no"]), key, now)
        return chat.grievances.change(thread.case_ref, own).result
    try:
        retaliation = chat.grievances.change(awaited["case_ref"], lambda v: v.record_validation_answer(
            thread.worker_key, value, None, False, text, now, answer_id=key, round_no=awaited["round_no"])).result
    except (NotFound, InvalidTransition):            # erased since (it ended): keep the words
        log.warning("validated_case_gone", validated_case=awaited["case_ref"])
        return None
    return chat.grievances.change(thread.case_ref, lambda g: _thank(chat, g, awaited, retaliation, key, now)).result


def _thank(chat, g, awaited: dict, retaliation: bool, key: str, now: datetime) -> str:
    """On the answering thread: the answer taken, the worker thanked (and told their
    safety comes first when the answer raised the alert)."""
    if g.awaited == awaited:           # a newer question since stays awaited
        g.answered(key)
    else:
        g.saw(key)
    chat.tell(g, now, say_.ANSWER_THANKS, case_ref=awaited["case_ref"])
    if retaliation:
        chat.tell(g, now, say_.SAFETY_FIRST)
    return "validation_answer"
