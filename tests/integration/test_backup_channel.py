"""The backup contact channel across the real processes (issues 11 and 14): a
retaliation alert nobody acknowledges within SAFEGUARDING_ACK_MINUTES (6 s here)
reaches the backup contacts by e-mail (the SMTP sink) and SMS (the fake provider),
naming the alert and nothing of the worker; one the lead acknowledged in time does not."""
import pytest

from tests.integration.conftest import BACKUP_CONTACTS, eventually
from tests.integration.helpers import post_grievance, report, unique

pytestmark = pytest.mark.integration
UNACKNOWLEDGED = "waits unacknowledged"
NOBODY = "no safeguarding lead has acknowledged it"


def alert_of(stack, staff) -> tuple[str, str]:
    created = post_grievance(stack, report(unique("SUP"), retaliation=True))
    assert created.status_code == 201 and created.json()["retaliation_alert"] is True
    ref = created.json()["case_ref"]
    case = eventually(lambda: (r := staff["case_worker"].call("GET", f"/v1/cases/{ref}")).status_code == 200
                      and r.json()["alerts"] and r.json())
    return ref, case["alerts"][0]


def test_an_unacknowledged_alert_reaches_the_backup_contacts_without_identity(stack, staff, smtp_sink, providers):
    ref_b, acknowledged = alert_of(stack, staff)
    staff["safeguarding_lead"].ok("POST", f"/v1/safeguarding/alerts/{acknowledged}/acknowledgement", {})
    ref_a, waiting = alert_of(stack, staff)         # reported after B: its time comes after B's

    def mails_about(alert_id):
        return [m for m in smtp_sink.messages() if alert_id in m["subject"] and UNACKNOWLEDGED in m["subject"]]

    def texts_about(alert_id, sent):     # the SMS saying no lead acknowledged it
        return [s for s in sent if alert_id in s["text"] and NOBODY in s["text"]]

    smtp_sink.wait_for(lambda got: mails_about(waiting), timeout=60)
    texts = providers.wait_for(lambda sent: texts_about(waiting, sent), timeout=30)
    [mail], [sms] = mails_about(waiting), texts_about(waiting, texts)
    assert mail["to"] == [BACKUP_CONTACTS["BACKUP_CONTACT_EMAILS"]]
    assert sms["channel"] == "sms" and sms["to"] == BACKUP_CONTACTS["BACKUP_CONTACT_PHONES"]
    worker = report("SUP-X")
    for said in (mail["subject"] + mail["text"], sms["text"]):
        assert waiting in said and UNACKNOWLEDGED in said
        for private in (worker["contact"]["name"], worker["contact"]["phone"], worker["contact"]["line_id"],
                        worker["text"], "Somchai", ref_a):
            assert private not in said
    # B was due before A and acknowledged in time: nothing went out about it being unacknowledged.
    assert mails_about(acknowledged) == [] and texts_about(acknowledged, providers.sent) == []
    assert ref_b != ref_a
