"""shared/dead_letters.py without a broker: what a dead letter says of itself, what an
operator sees of it (no worker identity), which letters a replay takes, and that a
replay publishes each event once, acks only what it published and is counted."""
import json
from datetime import datetime, timezone
from types import SimpleNamespace

from shared import broker_users, metrics
from shared.contracts.events import GRIEVANCE_RECEIVED, VALIDATION_ROUND_OPENED, iso, make_event, utc_now
from shared.dead_letters import MASK, DeadLetter, mask, replay, replayable, select

T1 = datetime(2026, 11, 1, 8, 0, tzinfo=timezone.utc)
T2 = datetime(2026, 11, 1, 9, 0, tzinfo=timezone.utc)


def grievance(worker_key="wk_secret123"):
    return make_event(GRIEVANCE_RECEIVED, "ILM-1", {
        "worker_key": worker_key, "channel": "hotline", "language": "th", "work_area": "working_conditions",
        "forced_labour_indicators": [], "severity": "normal", "retaliation": False, "supplier_ref": "SUP-1",
        "site_ref": None, "agency_ref": None, "received_at": iso(utc_now())}, "c1")


def round_opened(case_ref="ILM-2"):
    return make_event(VALIDATION_ROUND_OPENED, case_ref, {"round_no": 1, "opened_at": iso(utc_now())}, "c2")


def letter(body, queue="evt-intake-grievance.received.v1--remediation.on_grievance_received", deaths=None):
    acked = []
    deaths = deaths if deaths is not None else [{"queue": queue, "reason": "rejected", "count": 1, "time": T1}]
    message = SimpleNamespace(headers={"x-death": deaths}, body=json.dumps(body).encode() if body is not None
                              else b"\xff not json", ack=lambda: acked.append(True))
    d = DeadLetter.of(message)
    d.acked = acked
    return d


def test_a_summary_names_the_event_its_queue_reason_count_and_first_death():
    event = grievance()
    d = letter(event, deaths=[
        {"queue": "evt-q", "reason": "rejected", "count": 1, "time": T2},
        {"queue": "evt-q.retry.v2", "reason": "expired", "count": 4, "time": T1}])
    assert d.summary() == {"event_id": event["event_id"], "event_type": "grievance.received", "queue": "evt-q",
                           "reason": "rejected", "count": 5, "first_death": T1.isoformat()}


def test_a_body_that_is_not_json_is_summarised_and_never_shown():
    d = letter(None)
    assert d.summary()["event_id"] is None and d.shown()["envelope"] is None
    assert replayable(d) == "not an event of the catalogue"


def test_show_masks_the_worker_key_and_forbidden_keys_at_any_depth():
    event = grievance()
    event["data"]["nested"] = [{"phone": "+66 81 555 0199", "ok": 1}]
    shown = json.dumps(letter(event).shown())
    assert "wk_secret123" not in shown and "555 0199" not in shown
    env = letter(event).shown()["envelope"]
    assert env["data"]["worker_key"] == MASK and env["data"]["severity"] == "normal"
    assert env["event_id"] == event["event_id"] and env["case_ref"] == "ILM-1"


def test_show_masks_data_fields_the_contract_does_not_declare():
    event = grievance()
    event["data"]["note"] = "Somchai was told to keep quiet"     # the poison: an unknown field
    env = mask(event, GRIEVANCE_RECEIVED)
    assert env["data"]["note"] == MASK and env["data"]["channel"] == "hotline"
    assert mask(["a list body"]) == MASK and mask(None) is None


def test_select_by_event_id_by_type_with_or_without_version_or_all():
    a, b, c = letter(grievance()), letter(grievance()), letter(round_opened())
    assert select([a, b, c], event_ids=[b.event_id]) == [b]
    assert select([a, b, c], event_types=["grievance.received"]) == [a, b]
    assert select([a, b, c], event_types=["validation.round_opened.v1"]) == [c]
    assert select([a, b, c], event_types=["validation.round_opened.v2"]) == []
    assert select([a, b, c], everything=True) == [a, b, c]
    assert select([a, b, c]) == []


def test_replay_publishes_each_event_once_acks_its_letters_and_counts():
    event = grievance()
    twice = [letter(event, queue="q-remediation"), letter(event, queue="q-validation")]
    poison = letter({**round_opened(), "data": {"round_no": "x"}})
    other = letter(round_opened())
    published = []
    counter = metrics.DEAD_LETTERS_REPLAYED.labels("grievance.received")
    before = counter._value.get()
    dlq = SimpleNamespace(letters=twice + [poison, other])
    result = replay(dlq, twice + [poison], "ops-anna", published.append)
    assert published == [event] and result["replayed"] == [event["event_id"]]
    assert result["skipped"] == {poison.event_id: "fails its contract"}
    assert [d.acked for d in twice] == [[True], [True]] and poison.acked == [] and other.acked == []
    assert counter._value.get() == before + 1
    assert metrics.DEAD_LETTERS._value.get() == 2


def test_a_failed_publish_acks_nothing():
    d = letter(grievance())

    def down(_):
        raise ConnectionError("broker gone")
    try:
        replay(SimpleNamespace(letters=[d]), [d], "ops", down)
    except ConnectionError:
        pass
    assert d.acked == []


def test_the_retention_policy_applies_to_the_dead_letter_queue_only(monkeypatch):
    monkeypatch.setenv("DEAD_LETTER_RETENTION_DAYS", "2")
    defs = broker_users.definitions("v", {s: "pw" for s in broker_users.SERVICES})
    (policy,) = defs["policies"]
    assert policy["definition"] == {"message-ttl": 2 * 86_400_000} and policy["apply-to"] == "queues"
    import re
    assert re.fullmatch(policy["pattern"], broker_users.DEAD_LETTER_QUEUE)
    assert not re.fullmatch(policy["pattern"], broker_users.DEAD_LETTER_QUEUE + ".x")
    monkeypatch.delenv("DEAD_LETTER_RETENTION_DAYS")
    assert broker_users.retention_days() == 14.0
    assert broker_users.dev_definitions()["policies"][0]["definition"]["message-ttl"] == 14 * 86_400_000
