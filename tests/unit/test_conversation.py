"""The chat conversation (services/intake/conversation.py) and reply sending
(services/intake/replies.py) on in-memory fakes: threading, redelivery, the worker's
words, validation questions and answers, replies that fail and are tried again."""
from __future__ import annotations

import os
from datetime import datetime, timedelta, timezone

import pytest

from services.intake import chat_validation, conversation, erasure, messages, replies
from services.intake.channels.base import Inbound
from services.intake.chat_thread import REPLY_ATTEMPTS
from services.intake.domain import Grievance
from services.intake.inbox import message_key
from services.intake.texts import say
from shared.crypto import SealedBox, pseudonym
from shared.errors import InvalidTransition, NotFound, ServiceUnavailable
from tests.fakes import FakeCaller, FakeGrievanceStore, unit_of_work

NOW = datetime(2026, 11, 25, 9, 0, tzinfo=timezone.utc)


class Vault:
    def __init__(self):
        self.box = SealedBox(os.urandom(32))

    def seal(self, value, case_ref):
        return self.box.seal(value, case_ref)

    def open(self, token, case_ref):
        return self.box.open(token, case_ref)

    def worker_key(self, contact):
        return pseudonym(b"k" * 32, repr(sorted(contact.items())))

    def chat_key(self, channel, chat_id):
        return pseudonym(b"c" * 32, f"{channel}:{chat_id}")


class Receipts:
    def __init__(self):
        self.n = 0

    def issue(self):
        self.n += 1
        return f"1111-2222-3333-4444-{self.n:04d}", f"hash{self.n}"


class Inbox:
    def __init__(self):
        self.state = {}

    def claim(self, key, now):
        if self.state.get(key) == "done":
            return False
        if self.state.get(key) == "taking":
            raise ServiceUnavailable("busy")
        self.state[key] = "taking"
        return True

    def done(self, key):
        self.state[key] = "done"

    def release(self, key):
        self.state.pop(key, None)


class Sender:
    def __init__(self, fail=()):
        self.sent, self.fail = [], list(fail)

    def send(self, channel, chat_id, account, text):
        if self.fail:
            raise self.fail.pop(0)
        self.sent.append((channel, chat_id, text))

    def try_send(self, channel, chat_id, account, text):
        self.sent.append((channel, chat_id, text))
        return True


class Remediation:
    def __init__(self, status="triaged"):
        self.status, self.calls = status, []

    def get_case(self, p):
        self.calls.append(("get_case", p))
        if self.status is None:
            raise NotFound(p["case_ref"])
        return {"case_ref": p["case_ref"], "status": self.status, "validation_open": False}

    def withdraw(self, p):
        self.calls.append(("withdraw", p))
        if self.status in ("closed", "withdrawn"):
            raise InvalidTransition("final")
        self.status = "withdrawn"
        return {"case_ref": p["case_ref"], "status": "withdrawn", "validation_open": False}


@pytest.fixture
def chat():
    store = FakeGrievanceStore()
    return conversation.Chat(unit_of_work(Grievance, store, consumer="intake.on_round_opened"), Vault(), Receipts(),
                             FakeCaller(None), Remediation(), Inbox(), Sender())


def line(text, mid, user="U4af4980629", kind="text", payload=None, media=None):
    return Inbound("line", mid, user, kind, text, payload=payload, media_type=media)


def flush(chat, now=NOW):
    """Send what is due and return the texts the worker got, in order."""
    before = len(chat.sender.sent)
    replies.deliver(chat.grievances, chat.vault, chat.sender, now)
    return [text for _, _, text in chat.sender.sent[before:]]


def only_case(chat):
    (doc,) = chat.grievances.repo.docs.values()
    return chat.grievances.get(doc["_id"])


def test_a_first_message_opens_a_case_and_the_reply_carries_reference_and_receipt(chat):
    assert conversation.receive(chat, line("The agent took 20000 baht fee and kept my passport", "m1"), NOW) == "opened"
    g = only_case(chat)
    assert (g.channel, g.work_area, g.language) == ("line", "labour_recruitment", "en")
    assert "U4af4980629" not in repr(g.to_dict())          # the chat id only sealed
    (text,) = flush(chat)
    assert g.case_ref in text and "1111-2222-3333-4444-0001" in text
    assert chat.sender.sent[0][:2] == ("line", "U4af4980629")
    # Once sent, the store keeps that a reply went out, not what it said (the receipt).
    assert only_case(chat).replies[0]["state"] == "sent" and only_case(chat).replies[0]["sealed_text"] is None
    assert flush(chat) == []


def test_later_messages_thread_onto_the_open_case_and_redelivery_is_harmless(chat):
    conversation.receive(chat, line("My wages are late", "m1"), NOW)
    assert conversation.receive(chat, line("It is two months now", "m2"), NOW) == "follow_up"
    assert conversation.receive(chat, line("It is two months now", "m2"), NOW) == "duplicate"
    g = only_case(chat)
    assert len(g.follow_ups) == 1 and len(chat.grievances.repo.docs) == 1
    assert [t.split(",")[0] for t in flush(chat)][1] == "Thank you"


def test_a_takeover_after_a_crash_does_not_apply_the_message_twice(chat):
    conversation.receive(chat, line("My wages are late", "m1"), NOW)
    conversation.receive(chat, line("more", "m2"), NOW)
    chat.inbox.release(message_key("line", "m2"))    # as if its claim lapsed before "done"
    assert conversation.receive(chat, line("more", "m2"), NOW) == "duplicate"
    assert len(only_case(chat).follow_ups) == 1


def test_another_chat_gets_its_own_case(chat):
    conversation.receive(chat, line("wages late", "m1"), NOW)
    conversation.receive(chat, line("wages late too", "m2", user="Uother"), NOW)
    assert len(chat.grievances.repo.docs) == 2


def test_status_is_asked_as_the_worker_and_answered_in_words(chat):
    conversation.receive(chat, line("wages late", "m1"), NOW)
    assert conversation.receive(chat, line("STATUS", "m2"), NOW) == "status"
    g = only_case(chat)
    assert chat.caller.vouched[-1].case_ref == g.case_ref and chat.caller.vouched[-1].id == g.worker_key
    assert flush(chat)[-1] == f"Case {g.case_ref}: a case worker is looking at it."


def test_status_before_remediation_opened_the_case_says_received(chat):
    chat.remediation.status = None
    conversation.receive(chat, line("wages late", "m1"), NOW)
    conversation.receive(chat, line("status", "m2"), NOW)
    assert flush(chat)[-1].endswith("received, waiting for a case worker.")


def test_stop_withdraws_and_the_next_message_opens_a_new_case(chat):
    conversation.receive(chat, line("wages late", "m1"), NOW)
    first = only_case(chat).case_ref
    assert conversation.receive(chat, line("Stop", "m2"), NOW) == "withdrawal_asked"
    assert "Send STOP again to confirm" in flush(chat)[-1] and chat.remediation.calls == []
    assert conversation.receive(chat, line("STOP", "m2b"), NOW) == "withdrawn"
    assert ("withdraw", {"case_ref": first, "reason": "asked for by the worker on line"}) in chat.remediation.calls
    assert "withdrawn" in flush(chat)[-1]
    conversation.receive(chat, line("new problem with housing", "m3"), NOW)
    assert len(chat.grievances.repo.docs) == 2


def test_stop_on_a_closed_case_says_why_not(chat):
    conversation.receive(chat, line("wages late", "m1"), NOW)
    chat.remediation.status = "closed"
    conversation.receive(chat, line("stop", "m2"), NOW)
    assert conversation.receive(chat, line("stop", "m2b"), NOW) == "not_withdrawn"
    assert "cannot be withdrawn now" in flush(chat)[-1]


def test_yes_answers_the_validation_question_once_then_is_an_ordinary_message(chat):
    conversation.receive(chat, line("wages late", "m1"), NOW)
    g = only_case(chat)
    event = {"event_id": "e1", "event_type": "validation.outreach_requested", "case_ref": g.case_ref,
             "data": {"round_no": 1, "worker_keys": [g.worker_key], "remedy_actions": ["back_pay"],
                      "reminder": False, "answer_by": "2026-12-09T09:00:00.000Z"}}
    chat_validation.reach_out(chat.grievances, chat.vault, event, NOW)
    chat_validation.reach_out(chat.grievances, chat.vault, event, NOW)      # redelivered: asked once
    assert sum("Did you receive the wages you were owed?" in t for t in flush(chat)) == 1
    assert conversation.receive(chat, line("yes", "m2"), NOW) == "validation_answer"
    assert conversation.receive(chat, line("yes", "m3"), NOW) == "follow_up"
    g = only_case(chat)
    assert [a["answer"] for a in g.validation_answers] == ["confirmed"]
    assert chat.grievances.relay.types().count("validation.answer_submitted") == 1


def test_yes_with_no_question_is_a_message_for_the_case_worker(chat):
    conversation.receive(chat, line("wages late", "m1"), NOW)
    assert conversation.receive(chat, line("no", "m2"), NOW) == "follow_up"
    assert only_case(chat).validation_answers == []


def test_a_reprisal_in_the_chat_raises_the_alert_and_the_worker_is_told_safety_comes_first(chat):
    conversation.receive(chat, line("wages late", "m1"), NOW)
    conversation.receive(chat, line("The supervisor threatened to fire me for complaining", "m2"), NOW)
    assert "Your safety comes first" in flush(chat)[-1]
    assert only_case(chat).follow_ups[-1]["retaliation"] is True


def test_a_sticker_is_answered_politely_and_stored_as_nothing_but_the_fact(chat):
    assert conversation.receive(chat, line(None, "m1", kind="unsupported", media="sticker"), NOW) == "unreadable"
    assert chat.grievances.repo.docs == {}
    assert "only read text" in chat.sender.sent[-1][2]
    conversation.receive(chat, line("wages late", "m2"), NOW)
    assert conversation.receive(chat, line(None, "m3", kind="unsupported", media="image"), NOW) == "unreadable"
    assert "only read text" in flush(chat)[-1]


def test_an_oversized_message_is_refused_with_the_limit(chat):
    assert conversation.receive(chat, line("x" * (conversation.MAX_TEXT + 1), "m1"), NOW) == "unreadable"
    assert chat.grievances.repo.docs == {} and str(conversation.MAX_TEXT) in chat.sender.sent[-1][2]


def test_a_case_that_ended_elsewhere_lets_the_chat_open_a_new_one(chat):
    conversation.receive(chat, line("wages late", "m1"), NOW)
    g = only_case(chat)
    erasure.schedule_after_final(chat.grievances, {"event_id": "e9", "event_type": "case.status_changed",
                                                   "case_ref": g.case_ref, "data": {
                                                       "to_status": "closed", "changed_at": "2026-11-25T09:00:00Z"}}, 365)
    assert only_case(chat).ended_as == "closed"
    conversation.receive(chat, line("again", "m2"), NOW)
    assert len(chat.grievances.repo.docs) == 2


def test_a_failing_handler_releases_the_message_for_the_providers_retry(chat):
    conversation.receive(chat, line("wages late", "m1"), NOW)
    chat.remediation.get_case = lambda p: (_ for _ in ()).throw(ServiceUnavailable("down"))
    with pytest.raises(ServiceUnavailable):
        conversation.receive(chat, line("status", "m2"), NOW)
    assert message_key("line", "m2") not in chat.inbox.state


def test_a_reply_the_provider_fails_is_tried_again_later_and_a_refusal_is_final(chat):
    chat.sender.fail = [ConnectionError("down")]
    conversation.receive(chat, line("wages late", "m1"), NOW)
    assert flush(chat) == []
    reply = only_case(chat).replies[0]
    assert reply["state"] == "pending" and reply["attempts"] == 1
    assert flush(chat, NOW) == []                                   # not due yet
    assert len(flush(chat, NOW + timedelta(seconds=2))) == 1        # due: sent

    chat.sender.fail = [replies.Refused("line answered 403")]
    conversation.receive(chat, line("more", "m2"), NOW)
    flush(chat, NOW + timedelta(seconds=3))
    assert only_case(chat).replies[-1]["state"] == "failed" and only_case(chat).replies_pending is False


def test_a_reply_that_never_goes_out_fails_after_its_attempts(chat):
    chat.sender.fail = [ConnectionError("down")] * REPLY_ATTEMPTS
    conversation.receive(chat, line("wages late", "m1"), NOW)
    at = NOW
    for _ in range(REPLY_ATTEMPTS):
        flush(chat, at)
        at += timedelta(hours=1)
    reply = only_case(chat).replies[0]
    assert reply["state"] == "failed" and reply["sealed_text"] is None and reply["attempts"] == REPLY_ATTEMPTS


def test_a_lapsed_send_lease_is_taken_again(chat):
    conversation.receive(chat, line("wages late", "m1"), NOW)
    g = only_case(chat)
    chat.grievances.change(g.case_ref, lambda a: a.claim_reply(a.replies[0]["id"], NOW))  # a sender that died
    assert flush(chat, NOW) == []
    assert len(flush(chat, NOW + timedelta(seconds=31))) == 1


def test_work_area_guesses():
    assert conversation.guess_work_area("the dorm has no water") == "living_eating_conditions"
    assert conversation.guess_work_area("my supervisor shouts") == "employer_employee_relations"
    assert conversation.guess_work_area("ค่านายหน้าแพงมาก") == "labour_recruitment"
    assert conversation.guess_work_area("overtime not paid") == "working_conditions"


def test_erasure_forgets_the_chat_and_drops_replies_not_sent(chat):
    chat.sender.fail = [ConnectionError("down")]
    conversation.receive(chat, line("wages late", "m1"), NOW)
    flush(chat)                                          # the reply waits for a retry
    g = only_case(chat)
    chat.grievances.change(g.case_ref, lambda a: a.erase(NOW))
    erased = only_case(chat)
    assert erased.chat_key is None and erased.chat is None and erased.replies_pending is False
    assert all(r["sealed_text"] is None for r in erased.replies)
    assert chat.grievances.repo.open_case_of_chat(chat.vault.chat_key("line", "U4af4980629")) is None
    assert flush(chat, NOW + timedelta(hours=1)) == []
    conversation.receive(chat, line("hello again", "m2"), NOW)       # the chat starts afresh
    assert len(chat.grievances.repo.docs) == 2


def test_thai_worker_is_answered_in_thai_and_status_words_work_in_thai(chat):
    conversation.receive(chat, line("นายจ้างไม่จ่ายค่าล่วงเวลาสามเดือนแล้ว", "m1"), NOW)
    g = only_case(chat)
    assert g.language == "th"
    opened = flush(chat)[0]
    assert g.case_ref in opened and "ขอบคุณ" in opened
    conversation.receive(chat, line("สถานะ", "m2"), NOW)
    expected = say(messages.STATUS, "th", case_ref=g.case_ref, status=say(messages.STATUS_NAMES["triaged"], "th"))
    assert flush(chat) == [expected] and expected != say(messages.STATUS, "en", case_ref=g.case_ref,
                                                          status=messages.STATUS_NAMES["triaged"])


def test_any_other_message_after_stop_keeps_the_case_open(chat):
    conversation.receive(chat, line("wages late", "m1"), NOW)
    conversation.receive(chat, line("stop", "m2"), NOW)
    assert conversation.receive(chat, line("sorry, I meant the overtime stopped", "m3"), NOW) == "follow_up"
    assert conversation.receive(chat, line("stop", "m4"), NOW) == "withdrawal_asked"
    assert chat.remediation.calls == []


def test_the_cases_given_replies_are_the_ones_sent_at_once(chat):
    conversation.receive(chat, line("wages late", "m1"), NOW)
    conversation.receive(chat, line("wages late too", "m2", user="Uother"), NOW)
    assert chat.touched == set(chat.grievances.repo.docs)
    assert replies.deliver(chat.grievances, chat.vault, chat.sender, NOW, case_refs=set()) == 0
    assert replies.deliver(chat.grievances, chat.vault, chat.sender, NOW, case_refs=chat.touched) == 2
