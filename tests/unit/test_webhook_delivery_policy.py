"""Issue 14, the pure rules of delivery: the retry schedule (compressed), what each
outcome means (410 disables, other 4xx are final), Retry-After, the circuit, the
signatures of a rotation's overlap, and who receives a deadline escalation."""
from datetime import datetime, timedelta, timezone

import pytest
from standardwebhooks import Webhook, WebhookVerificationError

from services.notifications.domain import (
    DEFAULT_SCHEDULE, CircuitPolicy, Delivery, RetryPolicy, Subscription, circuit_after, circuit_gate, new_secret,
    parse_retry_after, replay_order, signature_header, verdict,
)
from shared.contracts.events import CASE_DEADLINE_ESCALATED, RETALIATION_REPORTED, iso, make_event

NOW = datetime(2026, 11, 1, 9, 0, tzinfo=timezone.utc)


def delivery(**kw) -> Delivery:
    return Delivery(**{**dict(delivery_id="msg_1", subscription_id="sub-1", event_id="evt-1", case_ref="ILM-1",
                              webhook_type="case.status_changed", url="https://brand.example/hook", body="{}",
                              urgent=False, created_at=iso(NOW)), **kw})


def sub(**kw) -> Subscription:
    return Subscription(**{**dict(subscription_id="sub-1", partner_id="BRAND-1", url="https://brand.example/hook",
                                  event_types=["case.deadline_escalated", "retaliation.reported"],
                                  audience="partner", sealed_secret="s", created_at=iso(NOW)), **kw})


# --- the schedule -------------------------------------------------------------------

def test_the_default_schedule_is_the_one_partners_know():
    assert DEFAULT_SCHEDULE == (0, 5, 5 * 60, 30 * 60, 2 * 3600, 5 * 3600, 10 * 3600, 10 * 3600)


def test_a_compressed_schedule_is_followed_try_by_try_then_the_delivery_is_failed_and_replayable():
    policy, d, t = RetryPolicy(schedule=(0, 1, 2, 3), jitter=0), delivery(), NOW
    waits = []
    while d.record_attempt(t, "timeout", 5, policy) == "retry" and d.status == "pending":
        due = datetime.fromisoformat(d.next_attempt_at.replace("Z", "+00:00"))
        waits.append((due - t).total_seconds())
        t = due
    assert waits == [1, 2, 3] and len(d.attempts) == 4
    assert d.status == "failed" and d.next_attempt_at is None
    assert d.replay(t) and d.status == "pending" and d.next_attempt_at == iso(t)
    d.record_attempt(t, "http_503", 5, policy)     # a replay is a new round of the schedule
    assert d.status == "pending" and d.next_attempt_at == iso(t + timedelta(seconds=1))


@pytest.mark.parametrize("draw,expected", [(0.0, 270.0), (0.5, 300.0), (0.999999, 330.0)])
def test_jitter_moves_each_wait_by_at_most_its_share(draw, expected):
    assert RetryPolicy(jitter=0.1).delay(2, draw) == pytest.approx(expected, abs=0.01)


@pytest.mark.parametrize("outcome,meaning", [
    ("http_200", "delivered"), ("http_204", "delivered"), ("http_410", "gone"), ("http_400", "final"),
    ("http_401", "final"), ("http_404", "final"), ("http_429", "retry"), ("http_500", "retry"),
    ("http_503", "retry"), ("timeout", "retry"), ("connection_error", "retry"), ("tls_error", "retry"),
    ("http_307", "final")])
def test_what_an_outcome_means(outcome, meaning):
    assert verdict(outcome) == meaning


def test_another_4xx_fails_at_once_and_410_stops_the_delivery():
    d = delivery()
    assert d.record_attempt(NOW, "http_400", 5, RetryPolicy()) == "final" and d.status == "failed"
    d = delivery()
    assert d.record_attempt(NOW, "http_410", 5, RetryPolicy()) == "gone" and d.status == "stopped"


# --- Retry-After --------------------------------------------------------------------

@pytest.mark.parametrize("value,seconds", [
    ("120", 120.0), (" 7 ", 7.0), ("Sun, 01 Nov 2026 09:01:30 GMT", 90.0), ("Sun, 01 Nov 2026 08:00:00 GMT", 0.0),
    (None, None), ("", None), ("soon", None), ("-5", None), ("1.5", None)])
def test_retry_after_as_seconds_or_an_http_date(value, seconds):
    assert parse_retry_after(value, NOW) == seconds


def test_retry_after_replaces_the_scheduled_wait_up_to_its_cap():
    policy = RetryPolicy(schedule=(0, 300, 300), jitter=0, retry_after_cap=60)
    d = delivery()
    d.record_attempt(NOW, "http_429", 5, policy, retry_after=10)
    assert d.next_attempt_at == iso(NOW + timedelta(seconds=10))
    d.record_attempt(NOW, "http_503", 5, policy, retry_after=86400)
    assert d.next_attempt_at == iso(NOW + timedelta(seconds=60))
    d.record_attempt(NOW, "http_429", 5, policy, retry_after=1)
    assert d.status == "failed"       # Retry-After never adds tries to the schedule


# --- the circuit --------------------------------------------------------------------

def test_the_circuit_opens_after_n_failures_lets_one_probe_through_and_closes_on_success():
    policy, s, t = CircuitPolicy(failures=3, cooldown=30, disable_after=3600), sub(), NOW
    for n in range(3):
        assert circuit_gate(s, t) == "closed"
        changes = circuit_after(s, True, t, policy)
        assert not changes.pop("disable")
        s = Subscription(**{**s.__dict__, **changes})
    assert s.failures == 3 and circuit_gate(s, t) == "open"
    assert s.circuit_open_until == iso(t + timedelta(seconds=30))
    assert circuit_gate(s, t + timedelta(seconds=30)) == "probe"
    changes = circuit_after(s, False, t + timedelta(seconds=31), policy)
    assert changes == {"failures": 0, "failing_since": None, "circuit_open_until": None, "disable": False}


def test_an_endpoint_failing_for_the_configured_period_is_to_be_disabled():
    policy = CircuitPolicy(failures=3, cooldown=30, disable_after=3600)
    s = sub(failures=50, failing_since=iso(NOW))
    assert not circuit_after(s, True, NOW + timedelta(seconds=3599), policy)["disable"]
    assert circuit_after(s, True, NOW + timedelta(seconds=3600), policy)["disable"]


# --- rotation -----------------------------------------------------------------------

def test_during_the_overlap_both_secrets_sign_and_either_receiver_verifies():
    old, new = new_secret(), new_secret()
    s = sub(sealed_secret=new, previous_sealed_secret=old, previous_secret_until=iso(NOW + timedelta(hours=24)))
    assert s.signing_secrets(NOW) == [new, old]
    assert s.signing_secrets(NOW + timedelta(hours=24)) == [new]
    ts = int(datetime.now(timezone.utc).timestamp())
    header = signature_header(s.signing_secrets(NOW), "msg_1", ts, '{"a":1}')
    assert header.count("v1,") == 2 and len(header.split(" ")) == 2
    headers = {"webhook-id": "msg_1", "webhook-timestamp": str(ts), "webhook-signature": header}
    for secret in (old, new):
        assert Webhook(secret).verify('{"a":1}', headers) == {"a": 1}
    with pytest.raises(WebhookVerificationError):
        Webhook(new_secret()).verify('{"a":1}', headers)


# --- deadline escalations and businesses -------------------------------------------

def escalation(level: int, business_ref="SUP-1") -> dict:
    return make_event(CASE_DEADLINE_ESCALATED, "ILM-1", {
        "deadline": "acknowledge", "level": level, "due": iso(NOW), "escalated_at": iso(NOW), "severity": "high",
        "work_area": "working_conditions", "supplier_ref": business_ref, "site_ref": None,
        "business_ref": business_ref, "business_type": "supplier"}, "c")


def test_level_1_goes_to_the_business_levels_2_and_3_to_the_partners_of_its_chain():
    business = sub(partner_id="SUP-1", audience="business")
    partner, chain = sub(), frozenset({"SUP-1"})
    assert business.wants(escalation(1)) and not partner.wants(escalation(1), chain)
    for level in (2, 3):
        assert partner.wants(escalation(level), chain) and not business.wants(escalation(level))
    assert not sub(partner_id="SUP-2", audience="business").wants(escalation(1))   # another business's case
    assert not sub(partner_id="BRAND-9").wants(escalation(2), frozenset({"SUP-7"}))


def test_a_business_never_receives_a_retaliation_alert_whatever_it_subscribed_to():
    alert = make_event(RETALIATION_REPORTED, "ILM-1", {
        "alert_id": "b" * 32, "raised_from": "follow_up", "work_area": None, "supplier_ref": "SUP-1",
        "site_ref": None, "reported_at": iso(NOW)}, "c")
    alert["data"]["business_ref"] = "SUP-1"      # even if the event named it as the business
    assert not sub(partner_id="SUP-1", audience="business").wants(alert)


def test_re_enabling_replays_in_the_order_things_happened():
    docs = [{"_id": "c", "event_at": "2026-11-01T09:00:02.000Z", "case_version": 2},
            {"_id": "a", "event_at": "2026-11-01T09:00:01.000Z", "case_version": 5},
            {"_id": "b", "event_at": "2026-11-01T09:00:02.000Z", "case_version": 1}]
    assert [d["_id"] for d in replay_order(docs)] == ["a", "b", "c"]
