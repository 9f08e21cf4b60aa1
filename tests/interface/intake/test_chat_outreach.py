"""Intake's outreach entrypoint in-process: ``validation.outreach_requested`` (built
and validated by its contract) asks the worker on their chat through the container's
own sender, and the chat's answer is raised on the validated case."""
import eventlet
from nameko.testing.services import entrypoint_hook, replace_dependencies

from services.intake import conversation
from services.intake.domain import Grievance
from services.intake.service import IntakeService
from shared.contracts.events import VALIDATION_OUTREACH_REQUESTED, make_event
from tests.fakes import FakeCaller, FakeGrievanceStore, unit_of_work
from tests.principals import signing_key
from tests.unit.test_conversation import NOW, Inbox, Receipts, Remediation, Sender, Vault, line


def test_an_outreach_event_asks_the_worker_on_their_chat_and_the_answer_reaches_the_case(
        container_factory, make_config):
    grievances, vault, sender = unit_of_work(Grievance, FakeGrievanceStore()), Vault(), Sender()
    container = container_factory(IntakeService, make_config(actor_signing_key=signing_key("intake")))
    replace_dependencies(container, grievances=grievances, vault=vault, sender=sender)
    container.start()
    chat = conversation.Chat(grievances, vault, Receipts(), FakeCaller(None), Remediation(), Inbox(), sender)
    conversation.receive(chat, line("The agent kept my passport", "m1"), NOW)
    (doc,) = grievances.repo.docs.values()
    event = make_event(VALIDATION_OUTREACH_REQUESTED, doc["_id"], {
        "round_no": 1, "worker_keys": [doc["worker_key"]], "remedy_actions": ["return_of_documents"],
        "reminder": False, "answer_by": "2026-12-09T09:00:00.000Z"}, "corr-1")
    with entrypoint_hook(container, "on_outreach_requested") as on_outreach:
        on_outreach(event)
    for _ in range(50):                       # sent at once, in a greenthread of its own
        if any("Were your documents returned to you?" in text for _, _, text in sender.sent):
            break
        eventlet.sleep(0.05)
    question = sender.sent[-1][2]
    assert doc["_id"] in question and "- Were your documents returned to you?" in question and "UNSAFE" in question
    assert conversation.receive(chat, line("partly", "m2"), NOW) == "validation_answer"
    answers = [e["data"] for e in grievances.relay.published if e["event_type"] == "validation.answer_submitted"]
    assert answers == [{"worker_key": doc["worker_key"], "answer": "partly", "retaliation": False,
                        "submitted_at": "2026-11-25T09:00:00.000Z", "round_no": 1}]
