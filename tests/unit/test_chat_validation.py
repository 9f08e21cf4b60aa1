"""Validation on the workers' own chats (services/intake/chat_validation.py), on the
fakes of tests/unit/test_conversation.py: the outreach asks each worker on their own
thread in their language, one line per remedy action; an answer (a co-worker's too)
is recorded on the validated case with the answering worker's key; UNSAFE raises the
alert; redelivery and a crash between the two writes change nothing twice."""
from __future__ import annotations

import pytest

from services.intake import chat_validation, conversation, messages
from services.intake.domain import Grievance
from services.intake.texts import say
from shared.contracts.common import REMEDY_ACTION_TYPES
from tests.fakes import FakeCaller, FakeGrievanceStore, unit_of_work
from tests.unit.test_conversation import NOW, Inbox, Receipts, Remediation, Sender, Vault, flush, line

REPORTER, CO_WORKER = "Ureporter0001", "Ucoworker0002"


@pytest.fixture
def chat():
    store = FakeGrievanceStore()
    return conversation.Chat(unit_of_work(Grievance, store, consumer="intake.on_outreach_requested"), Vault(),
                             Receipts(), FakeCaller(None), Remediation(), Inbox(), Sender())


def case_of(chat, user):
    key = chat.vault.chat_key("line", user)
    return chat.grievances.get(chat.grievances.repo.open_case_of_chat(key))


def two_workers(chat):
    """The reporter of the validated case (English) and a co-worker with a case of their own (Thai)."""
    conversation.receive(chat, line("The agent kept my passport and the fee", "r1", user=REPORTER), NOW)
    conversation.receive(chat, line("นายหน้าเก็บพาสปอร์ตของฉันไว้", "c1", user=CO_WORKER), NOW)
    flush(chat)
    return case_of(chat, REPORTER), case_of(chat, CO_WORKER)


def outreach(case_ref, worker_keys, actions=("recruitment_fee_repayment", "return_of_documents"),
             reminder=False, event_id="ev1", round_no=1):
    return {"event_id": event_id, "event_type": "validation.outreach_requested", "case_ref": case_ref,
            "data": {"round_no": round_no, "worker_keys": list(worker_keys), "remedy_actions": list(actions),
                     "reminder": reminder, "answer_by": "2026-12-09T09:00:00.000Z"}}


def reach_out(chat, event):
    return chat_validation.reach_out(chat.grievances, chat.vault, event, NOW)


def sent_to(chat, user, since=0):
    return [text for _, to, text in chat.sender.sent[since:] if to == user]


def events_on(chat, case_ref, event_type):
    return [e["data"] for e in chat.grievances.relay.published
            if e["case_ref"] == case_ref and e["event_type"] == event_type]


def test_each_worker_is_asked_on_their_own_thread_in_their_language_one_line_per_action(chat):
    case, co = two_workers(chat)
    before = len(chat.sender.sent)
    assert reach_out(chat, outreach(case.case_ref, [case.worker_key, co.worker_key, "k-no-chat"])) == {
        "asked": 2, "without_chat": 1, "threads": {case.case_ref, co.case_ref}}
    flush(chat)
    (english,) = sent_to(chat, REPORTER, before)
    assert english.splitlines() == [
        say(messages.VALIDATION_ASK, "en", case_ref=case.case_ref),
        "- Did you get back the recruitment fees you paid?", "- Were your documents returned to you?",
        messages.VALIDATION_HOW_TO_ANSWER]
    assert "YES" in english and "PARTLY" in english and "UNSAFE" in english
    (thai,) = sent_to(chat, CO_WORKER, before)
    assert thai == chat_validation.question("th", case.case_ref, ["recruitment_fee_repayment",
                                                                  "return_of_documents"], False)
    assert case.case_ref in thai and "บางส่วน (PARTLY)" in thai and "ไม่ปลอดภัย (UNSAFE)" in thai
    # The co-worker's thread awaits the validated case, not their own.
    assert case_of(chat, CO_WORKER).awaited == {"case_ref": case.case_ref, "round_no": 1}


def test_every_action_type_has_its_question_and_no_action_asks_in_general():
    assert set(messages.REMEDY_QUESTIONS) == set(REMEDY_ACTION_TYPES)
    general = chat_validation.question("en", "ILM-X", [], False)
    assert general.splitlines()[1] == "- Is the problem fixed for you?"
    twice = chat_validation.question("en", "ILM-X", ["back_pay", "back_pay"], False)
    assert twice.count("wages you were owed") == 1


def test_a_co_workers_yes_is_recorded_on_the_validated_case_with_their_own_key(chat):
    case, co = two_workers(chat)
    reach_out(chat, outreach(case.case_ref, [case.worker_key, co.worker_key]))
    flush(chat)
    assert conversation.receive(chat, line("ใช่ค่ะ", "c2", user=CO_WORKER), NOW) == "validation_answer"
    assert events_on(chat, case.case_ref, "validation.answer_submitted") == [
        {"worker_key": co.worker_key, "answer": "confirmed", "retaliation": False,
         "submitted_at": "2026-11-25T09:00:00.000Z", "round_no": 1}]
    assert events_on(chat, co.case_ref, "validation.answer_submitted") == []
    assert [a["answer"] for a in chat.grievances.get(case.case_ref).validation_answers] == ["confirmed"]
    assert case_of(chat, CO_WORKER).awaited is None and case_of(chat, REPORTER).awaited is not None
    assert flush(chat) == [
        say(messages.ANSWER_THANKS, "th", case_ref=case.case_ref)]
    # Answered: the next "yes" is a message on the co-worker's own case.
    assert conversation.receive(chat, line("ใช่", "c3", user=CO_WORKER), NOW) == "follow_up"


@pytest.mark.parametrize("word, answer", [("yes", "confirmed"), ("Partly", "partly"), ("NO", "not_resolved"),
                                          ("unsafe", "unsafe")])
def test_each_answer_word_gives_its_answer(chat, word, answer):
    case, _ = two_workers(chat)
    reach_out(chat, outreach(case.case_ref, [case.worker_key]))
    assert conversation.receive(chat, line(word, "r2", user=REPORTER), NOW) == "validation_answer"
    assert [e["answer"] for e in events_on(chat, case.case_ref, "validation.answer_submitted")] == [answer]


def test_unsafe_raises_the_alert_and_the_worker_is_told_their_safety_comes_first(chat):
    case, co = two_workers(chat)
    reach_out(chat, outreach(case.case_ref, [case.worker_key, co.worker_key]))
    flush(chat)
    conversation.receive(chat, line("ไม่ปลอดภัย", "c2", user=CO_WORKER), NOW)
    (alert,) = events_on(chat, case.case_ref, "retaliation.reported")
    assert alert["raised_from"] == "validation_answer"
    assert events_on(chat, case.case_ref, "validation.answer_submitted")[0]["retaliation"] is True
    assert flush(chat) == [say(messages.ANSWER_THANKS, "th", case_ref=case.case_ref),
                           say(messages.SAFETY_FIRST, "th")]


def test_unsafe_with_no_question_waiting_still_raises_the_alert(chat):
    case, _ = two_workers(chat)
    assert conversation.receive(chat, line("UNSAFE", "r2", user=REPORTER), NOW) == "follow_up"
    (alert,) = events_on(chat, case.case_ref, "retaliation.reported")
    assert alert["raised_from"] == "follow_up" and "Your safety comes first" in flush(chat)[-1]


def test_a_reminder_is_worded_as_one(chat):
    case, _ = two_workers(chat)
    reach_out(chat, outreach(case.case_ref, [case.worker_key]))
    reach_out(chat, outreach(case.case_ref, [case.worker_key], reminder=True, event_id="ev2"))
    first, reminder = flush(chat)
    assert not first.startswith("Reminder") and reminder.startswith(f"Reminder, case {case.case_ref}")
    assert "- Did you get back the recruitment fees you paid?" in reminder


def test_a_redelivered_outreach_asks_once(chat):
    case, co = two_workers(chat)
    event = outreach(case.case_ref, [case.worker_key, co.worker_key])
    reach_out(chat, event)
    assert reach_out(chat, event) == {"asked": 0, "without_chat": 0, "threads": set()}
    assert len(flush(chat)) == 2


def test_workers_without_an_open_chat_are_left_to_the_case_worker(chat):
    case, co = two_workers(chat)
    chat.grievances.change(co.case_ref, lambda g: g.end("closed", NOW))    # their own case is over
    assert reach_out(chat, outreach(case.case_ref, [co.worker_key, "k-web-form"])) == {
        "asked": 0, "without_chat": 2, "threads": set()}
    assert flush(chat) == []


def test_a_crash_between_the_two_writes_records_the_answer_once(chat):
    case, co = two_workers(chat)
    reach_out(chat, outreach(case.case_ref, [co.worker_key]))
    flush(chat)
    change, calls = chat.grievances.change, []

    def crash_on_the_thread(ref, decide, **kw):
        calls.append(ref)
        if len(calls) == 2:            # the validated case is written; the thread's write fails
            raise ConnectionError("the store went away")
        return change(ref, decide, **kw)

    chat.grievances.change = crash_on_the_thread
    with pytest.raises(ConnectionError):
        conversation.receive(chat, line("no", "c2", user=CO_WORKER), NOW)
    assert calls == [case.case_ref, co.case_ref]              # the validated case was written first
    chat.grievances.change = change
    assert conversation.receive(chat, line("no", "c2", user=CO_WORKER), NOW) == "validation_answer"
    assert len(events_on(chat, case.case_ref, "validation.answer_submitted")) == 1
    assert len(chat.grievances.get(case.case_ref).validation_answers) == 1
    assert flush(chat) == [say(messages.ANSWER_THANKS, "th", case_ref=case.case_ref)]


def test_the_door_and_the_page_answer_unsafe_with_the_alert():
    g = Grievance.receive({"channel": "worker_app", "language": "en", "work_area": "working_conditions",
                           "text": "wages late", "contact": None}, "ILM-23456789", "wk", "sealed", None, NOW)
    g.raised.clear()
    assert g.submit_validation_answer("unsafe", None, False, None, NOW) is True
    assert [c.name for c, _ in g.raised] == ["validation.answer_submitted", "retaliation.reported",
                                             "worker.message_received"]
    assert g.submit_validation_answer("partly", None, False, None, NOW) is False


def test_a_question_asked_before_group_cases_is_still_answered_on_its_own_case(chat):
    case, _ = two_workers(chat)
    chat.grievances.repo.docs[case.case_ref]["chat"]["awaiting_round"] = 1     # as stored by the older intake
    assert conversation.receive(chat, line("no", "r2", user=REPORTER), NOW) == "validation_answer"
    assert [e["answer"] for e in events_on(chat, case.case_ref, "validation.answer_submitted")] == ["not_resolved"]
    assert case_of(chat, REPORTER).awaited is None


def test_a_newer_question_replaces_one_asked_before_group_cases(chat):
    case, _ = two_workers(chat)
    chat.grievances.repo.docs[case.case_ref]["chat"]["awaiting_round"] = 1     # as stored by the older intake
    reach_out(chat, outreach(case.case_ref, [case.worker_key], round_no=2))
    assert case_of(chat, REPORTER).awaited == {"case_ref": case.case_ref, "round_no": 2}
    assert "awaiting_round" not in chat.grievances.repo.docs[case.case_ref]["chat"]
    assert conversation.receive(chat, line("yes", "r2", user=REPORTER), NOW) == "validation_answer"
    assert [e["round_no"] for e in events_on(chat, case.case_ref, "validation.answer_submitted")] == [2]
