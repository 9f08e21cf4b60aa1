"""Partner webhooks: Standard Webhooks signatures (checked against an independent
HMAC), the payload allow-list, who receives what, delivery ids and retry policy."""
import base64
import hashlib
import hmac
import json
from datetime import datetime, timedelta, timezone

import pytest

from services.notifications.domain import (
    ALLOWED_FIELDS, SECRET_PREFIX, TOLERANCE_SECONDS, Delivery, RetryPolicy, Subscription,
    body_of, delivery_id, new_secret, payload_for, plan_deliveries, sign, verify,
)
from shared.contracts.events import CASE_STATUS_CHANGED, RETALIATION_REPORTED, iso, make_event

NOW = datetime(2026, 11, 1, 9, 0, tzinfo=timezone.utc)
TS = int(NOW.timestamp())
SECRET = "whsec_" + base64.b64encode(bytes(range(32))).decode()
BODY = '{"data":{"case_ref":"ILM-TEST0001"},"type":"case.status_changed"}'


def independent_signature(secret: str, msg_id: str, ts: int, body: str) -> str:
    key = base64.b64decode(secret.split("_", 1)[1])
    mac = hmac.new(key, f"{msg_id}.{ts}.{body}".encode(), hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode()


def headers(msg_id="msg_1", ts=TS, signature=None, body=BODY, secret=SECRET):
    return {"webhook-id": msg_id, "webhook-timestamp": str(ts),
            "webhook-signature": signature or independent_signature(secret, msg_id, ts, body)}


# --- signatures --------------------------------------------------------------------

def test_sign_matches_an_independent_standard_webhooks_signature():
    assert sign(SECRET, "msg_1", TS, BODY) == independent_signature(SECRET, "msg_1", TS, BODY)


def test_verify_accepts_an_independently_computed_signature():
    assert verify(SECRET, headers(), BODY, NOW) is True
    # header names are case-insensitive
    h = {k.title(): v for k, v in headers().items()}
    assert verify(SECRET, h, BODY, NOW) is True


def test_verify_accepts_any_of_several_space_separated_signatures():
    good = independent_signature(SECRET, "msg_1", TS, BODY)
    old = independent_signature(new_secret(), "msg_1", TS, BODY)
    assert verify(SECRET, headers(signature=f"{old} {good}"), BODY, NOW) is True
    assert verify(SECRET, headers(signature=old), BODY, NOW) is False


def test_verify_rejects_a_tampered_body_id_or_timestamp():
    h = headers()
    assert verify(SECRET, h, BODY.replace("ILM-TEST0001", "ILM-TEST0002"), NOW) is False
    assert verify(SECRET, {**h, "webhook-id": "msg_2"}, BODY, NOW) is False
    assert verify(SECRET, {**h, "webhook-timestamp": str(TS + 1)}, BODY, NOW) is False


def test_verify_rejects_a_different_secret():
    assert verify(new_secret(), headers(), BODY, NOW) is False


def test_verify_enforces_the_timestamp_tolerance():
    assert TOLERANCE_SECONDS == 300
    at_edge = TS - TOLERANCE_SECONDS
    assert verify(SECRET, headers(ts=at_edge), BODY, NOW) is True
    too_old = TS - TOLERANCE_SECONDS - 1
    assert verify(SECRET, headers(ts=too_old), BODY, NOW) is False
    too_new = TS + TOLERANCE_SECONDS + 1
    assert verify(SECRET, headers(ts=too_new), BODY, NOW) is False
    assert verify(SECRET, headers(), BODY, NOW + timedelta(minutes=6)) is False


@pytest.mark.parametrize("missing", ["webhook-id", "webhook-timestamp", "webhook-signature"])
def test_verify_rejects_missing_headers(missing):
    h = headers()
    del h[missing]
    assert verify(SECRET, h, BODY, NOW) is False


def test_verify_rejects_a_non_numeric_timestamp():
    assert verify(SECRET, {**headers(), "webhook-timestamp": "yesterday"}, BODY, NOW) is False


def test_new_secret_is_whsec_and_32_bytes():
    s = new_secret()
    assert s.startswith(SECRET_PREFIX)
    assert len(base64.b64decode(s[len(SECRET_PREFIX):])) == 32
    assert new_secret() != s


# --- payloads ----------------------------------------------------------------------

STATUS_DATA = {
    "from_status": "triaged", "to_status": "referred", "case_version": 3, "severity": "high",
    "work_area": "labour_recruitment", "supplier_ref": "SUP-1", "site_ref": "SITE-1",
    "business_ref": "SUP-1", "business_type": "supplier",
    "actor": {"id": "cw-1", "role": "case_worker"}, "changed_at": iso(NOW),
}
ALERT_DATA = {"alert_id": "a" * 32, "raised_from": "grievance", "work_area": "working_conditions",
              "supplier_ref": "SUP-1", "site_ref": None, "reported_at": iso(NOW)}


def status_event(**data):
    return make_event(CASE_STATUS_CHANGED, "ILM-TEST0001", {**STATUS_DATA, **data}, "corr-1")


def test_status_payload_has_only_allow_listed_fields_and_the_case_ref():
    event = status_event()
    # a field added to the event later (or smuggled in) never reaches a partner
    event["data"] = {**event["data"], "worker_key": "wk_" + "b" * 32, "text": "secret story",
                     "channel": "hotline", "language": "th"}
    payload = payload_for(event)
    assert payload["type"] == "case.status_changed"
    assert payload["version"] == 1
    assert payload["timestamp"] == event["occurred_at"]
    data = payload["data"]
    assert data["case_ref"] == "ILM-TEST0001"
    for hidden in ("worker_key", "text", "channel", "language", "actor"):
        assert hidden not in data
    assert set(data) == set(ALLOWED_FIELDS["case.status_changed"]) | {"case_ref"}
    assert data["to_status"] == "referred" and data["case_version"] == 3
    body = body_of(payload)
    assert "wk_" not in body and "secret story" not in body and "cw-1" not in body


def test_alert_payload_allow_list():
    event = make_event(RETALIATION_REPORTED, "ILM-TEST0001", ALERT_DATA, "corr-1")
    event["data"]["worker_key"] = "wk_" + "c" * 32
    event["data"]["text"] = "they threatened me"
    data = payload_for(event)["data"]
    assert set(data) == set(ALERT_DATA) | {"case_ref"}
    assert data["site_ref"] is None


def test_allow_lists_never_name_identifying_fields():
    for fields_ in ALLOWED_FIELDS.values():
        assert not {"worker_key", "text", "channel", "language", "contact", "actor"} & set(fields_)


def test_body_is_canonical_json():
    payload = {"b": 1, "a": {"y": 2, "x": "é"}}
    assert body_of(payload) == '{"a":{"x":"\\u00e9","y":2},"b":1}'
    assert json.loads(body_of(payload)) == payload


# --- subscriptions -----------------------------------------------------------------

def subscription(**kw) -> Subscription:
    base = dict(subscription_id="sub-1", partner_id="BRAND-1", url="https://partner.example/hook",
                event_types=["case.status_changed"], audience="partner",
                sealed_secret="v1:xxx", created_at=iso(NOW))
    return Subscription(**{**base, **kw})


CHAIN = frozenset({"SUP-1", "SUP-2"})


def test_partner_receives_only_its_chain():
    sub = subscription()
    assert sub.wants(status_event(supplier_ref="SUP-1"), CHAIN)
    assert sub.wants(status_event(supplier_ref="SUP-2"), CHAIN)
    assert not sub.wants(status_event(supplier_ref="SUP-9", business_ref="SUP-9"), CHAIN)
    assert not sub.wants(status_event(supplier_ref=None, business_ref=None), CHAIN)
    assert not sub.wants(status_event(supplier_ref="SUP-1"))      # no chain known: nothing


def test_safeguarding_receives_every_supplier():
    sub = subscription(audience="safeguarding")
    assert sub.wants(status_event(supplier_ref="SUP-9"))
    assert sub.wants(status_event(supplier_ref=None))


def test_a_disabled_subscriptions_deliveries_are_held_not_claimed():
    (held, _), = plan_deliveries([subscription(active=False, audience="safeguarding")], status_event(), NOW, 30)
    assert held.status == "stopped" and held.lease_until is None
    (sent, _), = plan_deliveries([subscription(audience="safeguarding")], status_event(), NOW, 30)
    assert sent.status == "sending"


def test_wrong_event_type_is_not_wanted():
    alert = make_event(RETALIATION_REPORTED, "ILM-TEST0001", ALERT_DATA, "corr-1")
    assert not subscription().wants(alert, CHAIN)
    assert not subscription(audience="safeguarding").wants(alert)
    assert subscription(event_types=["retaliation.reported"]).wants(alert, CHAIN)


def test_a_case_referred_to_an_agency_or_at_a_site_of_the_chain_is_wanted():
    sub = subscription()
    chain = frozenset({"SUP-1", "AGY-1", "SITE-1"})
    assert sub.wants(status_event(supplier_ref="SUP-9", business_ref="AGY-1", site_ref=None), chain)
    assert sub.wants(status_event(supplier_ref=None, business_ref=None, site_ref="SITE-1"), chain)
    assert not sub.wants(status_event(supplier_ref="SUP-9", business_ref="AGY-9", site_ref="SITE-9"), chain)


def test_a_retaliation_alert_goes_to_partners_of_the_accused_never_to_the_accused():
    alert = make_event(RETALIATION_REPORTED, "ILM-TEST0001", ALERT_DATA, "corr-1")
    wants_alerts = dict(event_types=["retaliation.reported"])
    assert subscription(**wants_alerts).wants(alert, CHAIN)
    assert not subscription(**wants_alerts, partner_id="BRAND-9").wants(alert, frozenset({"SUP-7"}))
    # the accused, even holding a partner's token and a chain that names itself
    assert not subscription(**wants_alerts, partner_id="SUP-1").wants(alert, frozenset({"SUP-1"}))
    assert subscription(**wants_alerts, audience="safeguarding", partner_id="lead-1").wants(alert)


def test_subscriptions_stored_with_supplier_refs_still_load():
    doc = {"_id": "sub-1", **subscription().public_view(), "sealed_secret": "v1:x", "supplier_refs": ["SUP-1"]}
    assert not hasattr(Subscription.from_doc(doc), "supplier_refs")


def test_subscription_public_view_hides_the_secret():
    view = subscription().public_view()
    assert "sealed_secret" not in view and "v1:xxx" not in json.dumps(view)
    assert view["partner_id"] == "BRAND-1"


# --- deliveries --------------------------------------------------------------------

def test_delivery_id_is_stable_and_distinct_per_subscription():
    a = delivery_id("evt-1", "sub-1")
    assert a == delivery_id("evt-1", "sub-1")
    assert a.startswith("msg_") and len(a) == 4 + 32
    assert a != delivery_id("evt-1", "sub-2")
    assert a != delivery_id("evt-2", "sub-1")


def delivery() -> Delivery:
    return Delivery(delivery_id=delivery_id("evt-1", "sub-1"), subscription_id="sub-1",
                    event_id="evt-1", case_ref="ILM-TEST0001", webhook_type="case.status_changed",
                    url="https://partner.example/hook", body=BODY, urgent=False, created_at=iso(NOW))


def test_claim_sets_a_lease():
    d = delivery()
    d.claim(NOW, 30)
    assert d.status == "sending"
    assert d.lease_until == iso(NOW + timedelta(seconds=30))


POLICY = RetryPolicy(schedule=(0, 2, 4), jitter=0)


def test_successful_attempt_is_delivered():
    d = delivery()
    d.claim(NOW, 30)
    assert d.record_attempt(NOW, "http_200", 12.34, POLICY) == "delivered"
    assert d.status == "delivered"
    assert d.next_attempt_at is None and d.lease_until is None
    assert d.attempts == [{"at": iso(NOW), "ok": True, "outcome": "http_200", "status_code": 200, "error": None,
                           "duration_ms": 12.3, "response": ""}]


def test_failed_attempts_follow_the_schedule_then_fail():
    d = delivery()
    t = NOW
    d.claim(t, 30)
    d.record_attempt(t, "http_500", 5, POLICY)
    assert d.status == "pending" and d.lease_until is None
    assert d.next_attempt_at == iso(t + timedelta(seconds=2))
    t += timedelta(seconds=2)
    d.claim(t, 30)
    d.record_attempt(t, "timeout", 5000, POLICY)
    assert d.status == "pending"
    assert d.next_attempt_at == iso(t + timedelta(seconds=4))
    t += timedelta(seconds=4)
    d.claim(t, 30)
    d.record_attempt(t, "http_500", 5, POLICY)
    assert d.status == "failed"
    assert d.next_attempt_at is None and d.lease_until is None
    assert [a["outcome"] for a in d.attempts] == ["http_500", "timeout", "http_500"]
    assert [a["error"] for a in d.attempts] == [None, "timeout", None]
    assert d.body == BODY      # every retry sends the same bytes


def test_success_after_failures_is_delivered():
    d = delivery()
    d.record_attempt(NOW, "http_503", 5, POLICY)
    d.record_attempt(NOW, "http_200", 5, POLICY)
    assert d.status == "delivered" and d.next_attempt_at is None


def test_delivery_round_trip_through_dict():
    d = delivery()
    d.record_attempt(NOW, "http_500", 5, POLICY)
    data = d.to_dict()
    assert "raised" not in data
    assert Delivery.from_dict({"_id": d.delivery_id, "_rev": 2, **data}).to_dict() == data
