"""Intake: the workers' door. Accepts grievances and validation answers over HTTP,
seals identity, and raises the events every other service works from."""
import json

from services.intake.domain import Grievance, new_case_ref
from services.intake.identity import IdentityVault
from services.intake.schemas import CaseRefPath, FollowUp, GrievanceReport, ValidationAnswer
from services.intake.store import GrievanceStore
from shared.aggregates import change, create
from shared.contracts.common import load
from shared.contracts.events import utc_now
from shared.http import json_http, json_response, read_json
from shared.logging import bind, get_logger
from shared.messaging import EventSourcingService
from shared.store import Store

log = get_logger(__name__)


class IntakeService(EventSourcingService):
    name = "intake"

    store = Store(GrievanceStore)
    vault = IdentityVault()

    @json_http("POST", "/grievances")
    def submit_grievance(self, request):
        self.ctx.adopt(request.headers.get("X-Correlation-ID"))
        report = read_json(request, GrievanceReport)
        worker_key = self.vault.worker_key(report["contact"])
        for _ in range(5):   # a fresh reference on the (rare) collision
            case_ref = new_case_ref()
            bind(case_id=case_ref)
            sealed_contact = (self.vault.seal(json.dumps(report["contact"]), case_ref)
                              if report["contact"] else None)
            grievance = Grievance.receive(report, case_ref, worker_key,
                                          self.vault.seal(report["text"], case_ref),
                                          sealed_contact, utc_now())
            if create(self.store, self.relay, self.ctx.correlation_id, case_ref, grievance):
                break
        log.info("grievance_received", severity=grievance.severity, retaliation=grievance.retaliation)
        return json_response(201, {"case_ref": case_ref, "status": "received",
                                   "severity": grievance.severity,
                                   "retaliation_alert": grievance.retaliation})

    @json_http("POST", "/grievances/<string:case_ref>/validation-answers")
    def submit_validation_answer(self, request, case_ref):
        return self._add_to_case(request, case_ref, ValidationAnswer, lambda g, body, sealed, now:
                                 g.submit_validation_answer(body["answer"], sealed, body["retaliation"],
                                                            body["text"], now))

    @json_http("POST", "/grievances/<string:case_ref>/follow-ups")
    def submit_follow_up(self, request, case_ref):
        """Anything the worker adds later; a reprisal reported here raises an alert."""
        return self._add_to_case(request, case_ref, FollowUp, lambda g, body, sealed, now:
                                 g.add_follow_up(sealed, body["retaliation"], body["text"], now))

    @json_http("GET", "/health")
    def health(self, request):
        return json_response(200, {"status": "ok"})

    def _add_to_case(self, request, case_ref, schema, add):
        """A worker's later message on a case: validate it, seal its text, let the
        grievance record it (``add`` returns whether it reports retaliation, in which
        case the grievance has raised an alert), answer 202."""
        self.ctx.adopt(request.headers.get("X-Correlation-ID"))
        case_ref = load(CaseRefPath, {"case_ref": case_ref})["case_ref"]
        body = read_json(request, schema)
        bind(case_id=case_ref)
        sealed = self.vault.seal(body["text"], case_ref) if body["text"] else None
        flagged = {}
        change(self.store, self.relay, self.ctx.correlation_id, case_ref, Grievance,
               lambda g: flagged.update(retaliation=add(g, body, sealed, utc_now())))
        log.info("case_message_received", path=request.path.rsplit("/", 1)[-1], **flagged)
        return json_response(202, {"case_ref": case_ref, "accepted": True,
                                   "retaliation_alert": flagged["retaliation"]})


SERVICES = [IntakeService]
