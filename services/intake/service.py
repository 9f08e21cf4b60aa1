"""Intake: the workers' door. Accepts grievances and later messages over HTTP, seals
identity, and raises the events every other service works from. Entrypoints only;
use cases are in handlers.py."""
from nameko.rpc import RpcProxy

from services.intake import chat_door, chat_validation, conversation, erasure, handlers, replies, reveal, staff_messages
from services.intake.domain import Grievance
from services.intake.identity import IdentityVault
from services.intake.inbox import ChatInbox
from services.intake.pages import WorkerPages
from services.intake.receipts import ReceiptKeeper
from services.intake.schemas import (
    Accepted, CaseRefPath, ConsentView, FollowUp, GrievanceReport, Health, Reported, ValidationAnswer, Withdrawal,
    WorkerCaseView, WorkerConsent, WorkerProof,
)
from services.intake.store import GrievanceStore
from shared.caller import Caller
from shared.contracts import rpc as contract
from shared.contracts.common import BUSINESS_ROLES, STAFF_ROLES
from shared.contracts.events import CASE_STATUS_CHANGED, VALIDATION_OUTREACH_REQUESTED, utc_now
from shared.http import json_http
from shared.messaging import on_event
from shared.openapi import ApiDocs
from shared.rpc import command
from shared.service import ServiceBase, every
from shared.unit_of_work import Aggregates

CASE = "/grievances/<string:case_ref>"
STORED = (503,)        # the store (or a service) does not answer: try again (Retry-After)
PROVED = (401, 429) + STORED    # a wrong receipt; then too many of them (Retry-After)


class IntakeService(WorkerPages, ApiDocs, ServiceBase):
    name = "intake"
    api_title, api_version = "ILM intake: the workers' door", "1"
    api_description = ("Report a grievance and act on it later with the case reference and the receipt "
                       "given at the report. Errors are RFC 9457 problem details.")

    grievances = Aggregates(GrievanceStore, Grievance)
    vault = IdentityVault()
    receipts = ReceiptKeeper()
    caller = Caller(signs=True)       # vouches for a worker who showed the receipt
    remediation = RpcProxy("remediation")
    inbox = ChatInbox()
    sender = replies.ChannelSender()

    @json_http("POST", "/grievances", body=GrievanceReport, answers={201: Reported}, problems=STORED)
    def submit_grievance(self, request, body):
        """Report a grievance.

        Answers with the public case reference and the worker's receipt, shown this once."""
        g, receipt = handlers.submit_grievance(self.grievances, self.vault, self.receipts, body, utc_now())
        return 201, {"case_ref": g.case_ref, "receipt": receipt, "status": "received",
                     "severity": g.severity, "retaliation_alert": g.retaliation}

    @json_http("POST", f"{CASE}/validation-answers", path=CaseRefPath, body=ValidationAnswer,
               answers={202: Accepted}, problems=PROVED + (409,))
    def submit_validation_answer(self, request, case_ref, body):
        """Answer a validation round: is the remedy real? Needs the receipt."""
        return 202, _accepted(case_ref, handlers.submit_validation_answer(
            self.grievances, self.vault, self.receipts, case_ref, body, request.remote_addr, utc_now()))

    @json_http("POST", f"{CASE}/follow-ups", path=CaseRefPath, body=FollowUp, answers={202: Accepted},
               problems=PROVED + (409,))      # 409: the worker's data of the case was erased
    def submit_follow_up(self, request, case_ref, body):
        """Add a message to the case (a reprisal reported here raises an alert). Needs the receipt."""
        return 202, _accepted(case_ref, handlers.submit_follow_up(
            self.grievances, self.vault, self.receipts, case_ref, body, request.remote_addr, utc_now()))

    @json_http("POST", f"{CASE}/status", path=CaseRefPath, body=WorkerProof, answers={200: WorkerCaseView},
               problems=PROVED)
    def case_status(self, request, case_ref, body):
        """Where the case stands. Needs the receipt.

        POST: the receipt travels in the body, never in a URL that proxies log."""
        return 200, handlers.case_status(self.grievances, self.receipts, self.caller, self.remediation,
                                         case_ref, body, request.remote_addr, utc_now())

    @json_http("POST", f"{CASE}/withdrawal", path=CaseRefPath, body=Withdrawal, answers={200: WorkerCaseView},
               problems=PROVED + (409,))
    def withdraw(self, request, case_ref, body):
        """Withdraw the case: only the worker can. Needs the receipt.

        With ``delete_my_data`` the worker's data of the case is erased for good."""
        return 200, handlers.withdraw(self.grievances, self.receipts, self.caller, self.remediation,
                                      case_ref, body, request.remote_addr, utc_now(), self.vault)

    @json_http("POST", f"{CASE}/consent", path=CaseRefPath, body=WorkerConsent, answers={200: ConsentView},
               problems=PROVED + (404,))      # 404: the worker's data of the case was erased
    def worker_consent(self, request, case_ref, body):
        """Give (or withdraw) consent to show the business your name and contact details. Needs the receipt."""
        return 200, reveal.worker_consent(self.grievances, self.receipts, case_ref, body, request.remote_addr,
                                          utc_now())

    @on_event(CASE_STATUS_CHANGED)
    def on_case_status_changed(self, event):
        """Intake learns the business the case is referred to (services/intake/reveal_rules.py).
        A closed or withdrawn case ends its chat thread and is erased after the retention period."""
        reveal.learn_business(self.grievances, event)
        erasure.schedule_after_final(self.grievances, event, self.config.retention_days)

    @every("retention_sweep_seconds")
    def sweep_retention(self):
        """Erase the cases whose retention period is over (one replica per case), and
        forget provider message ids old enough never to come again."""
        erasure.sweep(self.grievances, self.vault, utc_now())
        self.inbox.forget_old(utc_now())

    @command(contract.RecordCall, allow=STAFF_ROLES)
    def record_call(self, p, actor):
        return handlers.record_call(self.grievances, self.vault, self.receipts, p, actor, utc_now())

    @command(contract.ReissueReceipt, allow=STAFF_ROLES)
    def reissue_receipt(self, p, actor):
        return handlers.reissue_receipt(self.grievances, self.receipts, p, actor, utc_now())

    @command(contract.RevealIdentity, allow=STAFF_ROLES + BUSINESS_ROLES)
    def reveal_identity(self, p, actor):
        return reveal.reveal_identity(self.grievances, self.vault, p, actor, utc_now())

    @command(contract.MessageWorker, allow=STAFF_ROLES)
    def message_worker(self, p, actor):
        return staff_messages.message_worker(self.grievances, self.vault, p, actor, utc_now())

    @command(contract.RecordConsent, allow=STAFF_ROLES)
    def record_consent(self, p, actor):
        return reveal.record_consent(self.grievances, p, actor, utc_now())

    # --- the chat channels (services/intake/chat_door.py) ---------------------------
    @json_http("POST", "/channels/<string:channel>", documented=False)
    def chat_webhook(self, request, channel):
        chat = self._chat()
        answer = chat_door.take_webhook(chat, self.config, channel, request, utc_now())
        # Reply now rather than at the next tick, without holding the provider's request.
        replies.deliver_soon(self.grievances, self.vault, self.sender, utc_now(), chat.touched)
        return answer

    @json_http("GET", "/channels/<string:channel>", documented=False)
    def chat_handshake(self, request, channel):
        return chat_door.handshake(self.config, channel, request)

    @every("chat_send_interval")
    def send_replies(self):
        replies.deliver(self.grievances, self.vault, self.sender, utc_now())

    @on_event(VALIDATION_OUTREACH_REQUESTED)
    def on_outreach_requested(self, event):
        """Validation asks these workers: each on their own chat, in their language
        (services/intake/chat_validation.py); those without one are met in person."""
        asked = chat_validation.reach_out(self.grievances, self.vault, event, utc_now())
        replies.deliver_soon(self.grievances, self.vault, self.sender, utc_now(), asked["threads"])

    def _chat(self):
        return conversation.Chat(self.grievances, self.vault, self.receipts, self.caller, self.remediation,
                                 self.inbox, self.sender)

    @json_http("GET", "/health", answers={200: Health})
    def health(self, request):
        """Whether the door is up."""
        return 200, {"status": "ok"}


def _accepted(case_ref: str, retaliation: bool):
    return {"case_ref": case_ref, "accepted": True, "retaliation_alert": retaliation}
