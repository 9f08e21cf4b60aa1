"""A case worker's note to the worker (services/intake/staff_messages.py), on the chat
fakes of tests/unit/test_conversation.py: it goes on the worker's own chat, stored
sealed, and a worker without an open chat is refused."""
import pytest

from services.intake import staff_messages
from shared.errors import InvalidTransition, NotFound
from tests.unit import test_chat_validation
from tests.unit.test_chat_validation import CO_WORKER, REPORTER, sent_to, two_workers
from tests.unit.test_conversation import NOW, flush

chat = test_chat_validation.chat          # the same chat fakes
STAFF = {"id": "anna", "role": "case_worker"}


def test_a_note_to_the_worker_goes_on_their_own_chat_sealed(chat):
    reporter, co_worker = two_workers(chat)
    answer = staff_messages.message_worker(chat.grievances, chat.vault,
                                           {"case_ref": co_worker.case_ref, "text": "เราจะโทรหาคุณพรุ่งนี้"}, STAFF, NOW)
    assert answer == {"case_ref": co_worker.case_ref, "queued": True, "channel": "line", "language": "th"}
    stored = str(chat.grievances.repo.docs[co_worker.case_ref]["replies"])
    assert "เราจะโทรหาคุณพรุ่งนี้" not in stored
    before = len(chat.sender.sent)
    flush(chat)
    assert sent_to(chat, CO_WORKER, before) == ["เราจะโทรหาคุณพรุ่งนี้"] and sent_to(chat, REPORTER, before) == []


def test_no_open_chat_no_note_and_an_unknown_case_is_not_found(chat):
    reporter, _ = two_workers(chat)
    chat.grievances.change(reporter.case_ref, lambda g: g.end("closed", NOW))
    with pytest.raises(InvalidTransition):
        staff_messages.message_worker(chat.grievances, chat.vault, {"case_ref": reporter.case_ref, "text": "hi"},
                                      STAFF, NOW)
    with pytest.raises(NotFound):
        staff_messages.message_worker(chat.grievances, chat.vault, {"case_ref": "ILM-NOPE0000", "text": "hi"},
                                      STAFF, NOW)
