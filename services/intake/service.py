"""Intake: the workers' door. Accepts grievances and later messages over HTTP, seals
identity, and raises the events every other service works from. Entrypoints only;
use cases are in handlers.py."""
from nameko.rpc import RpcProxy

from services.intake import handlers
from services.intake.domain import Grievance
from services.intake.identity import IdentityVault
from services.intake.receipts import ReceiptKeeper
from services.intake.schemas import (
    CaseRefPath, FollowUp, GrievanceReport, ValidationAnswer, Withdrawal, WorkerProof,
)
from services.intake.store import GrievanceStore
from shared.caller import Caller
from shared.contracts import rpc as contract
from shared.contracts.common import STAFF_ROLES, load
from shared.contracts.events import utc_now
from shared.http import json_http, json_response, read_json
from shared.rpc import command
from shared.service import ServiceBase
from shared.unit_of_work import Aggregates


class IntakeService(ServiceBase):
    name = "intake"

    grievances = Aggregates(GrievanceStore, Grievance)
    vault = IdentityVault()
    receipts = ReceiptKeeper()
    caller = Caller(signs=True)       # vouches for a worker who showed the receipt
    remediation = RpcProxy("remediation")

    @json_http("POST", "/grievances")
    def submit_grievance(self, request):
        self.ctx.adopt(request.headers.get("X-Correlation-ID"))
        g, receipt = handlers.submit_grievance(self.grievances, self.vault, self.receipts,
                                               read_json(request, GrievanceReport), utc_now())
        # The receipt is shown this once: with the reference it proves the case is the worker's.
        return json_response(201, {"case_ref": g.case_ref, "receipt": receipt, "status": "received",
                                   "severity": g.severity, "retaliation_alert": g.retaliation})

    @json_http("POST", "/grievances/<string:case_ref>/validation-answers")
    def submit_validation_answer(self, request, case_ref):
        case_ref, body = self._case_message(request, case_ref, ValidationAnswer)
        alert = handlers.submit_validation_answer(self.grievances, self.vault, self.receipts, case_ref, body,
                                                  request.remote_addr, utc_now())
        return _accepted(case_ref, alert)

    @json_http("POST", "/grievances/<string:case_ref>/follow-ups")
    def submit_follow_up(self, request, case_ref):
        case_ref, body = self._case_message(request, case_ref, FollowUp)
        alert = handlers.submit_follow_up(self.grievances, self.vault, self.receipts, case_ref, body,
                                          request.remote_addr, utc_now())
        return _accepted(case_ref, alert)

    @json_http("POST", "/grievances/<string:case_ref>/status")
    def case_status(self, request, case_ref):
        # POST: the receipt travels in the body, never in a URL that proxies log.
        case_ref, body = self._case_message(request, case_ref, WorkerProof)
        return json_response(200, handlers.case_status(self.grievances, self.receipts, self.caller, self.remediation,
                                                       case_ref, body, request.remote_addr, utc_now()))

    @json_http("POST", "/grievances/<string:case_ref>/withdrawal")
    def withdraw(self, request, case_ref):
        case_ref, body = self._case_message(request, case_ref, Withdrawal)
        return json_response(200, handlers.withdraw(self.grievances, self.receipts, self.caller, self.remediation,
                                                    case_ref, body, request.remote_addr, utc_now()))

    @command(contract.ReissueReceipt, allow=STAFF_ROLES)
    def reissue_receipt(self, p, actor):
        return handlers.reissue_receipt(self.grievances, self.receipts, p, actor, utc_now())

    @json_http("GET", "/health")
    def health(self, request):
        return json_response(200, {"status": "ok"})

    def _case_message(self, request, case_ref, schema):
        self.ctx.adopt(request.headers.get("X-Correlation-ID"))
        return load(CaseRefPath, {"case_ref": case_ref})["case_ref"], read_json(request, schema)


def _accepted(case_ref: str, retaliation: bool):
    return json_response(202, {"case_ref": case_ref, "accepted": True, "retaliation_alert": retaliation})
