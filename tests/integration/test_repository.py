"""The repository, the outbox fields and exact idempotency against the real embedded
Mongo server (nx-27017), and the UnitOfWork (load -> decide -> save -> relay) on it.
The same UnitOfWork runs on in-memory fakes in tests/unit/test_unit_of_work.py."""
import uuid
from datetime import datetime, timedelta, timezone

import pytest

from services.validation.domain import CaseValidation
from shared.idempotency import ProcessedEvents, key
from shared.outbox import clear_outbox, pending_outbox
from shared.unit_of_work import APPLIED_WINDOW, UnitOfWork
from shared.contracts.events import VALIDATION_ROUND_OPENED, iso, make_event, utc_now
from shared.errors import ConcurrentUpdate, InvalidTransition, NotFound
from shared.repository import DuplicateKeyError, Repository, database

pytestmark = pytest.mark.integration
NOW = datetime(2026, 11, 1, 9, 0, tzinfo=timezone.utc)


class ThingStore(Repository):
    service = "unittest"
    collection_name = "things"


@pytest.fixture(scope="module")
def db(mongo):
    database_ = database("unittest_" + uuid.uuid4().hex[:8])
    yield database_
    try:
        database_.client.drop_database(database_.name)
    except Exception:       # the embedded server may not support it; the data dir is temporary
        pass


@pytest.fixture
def store(db):
    s = ThingStore(db)
    s.col = db["things_" + uuid.uuid4().hex[:8]]     # a clean collection per test
    s.ensure_indexes()
    return s


def event(age_seconds: float = 0.0, event_id: str | None = None) -> dict:
    return {"event_id": event_id or uuid.uuid4().hex, "event_type": "validation.round_opened",
            "occurred_at": iso(utc_now() - timedelta(seconds=age_seconds)), "data": {"round_no": 1}}


def new_id() -> str:
    return "ILM-" + uuid.uuid4().hex[:8].upper()


# --- insert / replace ------------------------------------------------------------------

def test_insert_sets_rev_and_outbox(store):
    e = event()
    doc = store.insert({"_id": "A1", "name": "a"}, [e])
    assert doc["_rev"] == 1 and doc["outbox"] == [e] and doc["outbox_pending"] is True
    loaded = store.load("A1")
    assert loaded["_rev"] == 1 and loaded["name"] == "a"
    assert loaded["outbox"] == [e]
    assert loaded["outbox_pending"] is True


def test_insert_without_events_has_nothing_pending(store):
    store.insert({"_id": "A2"})
    loaded = store.load("A2")
    assert loaded["outbox"] == [] and loaded["outbox_pending"] is False
    assert store.load("missing") is None


def test_duplicate_insert_raises(store):
    store.insert({"_id": "A3", "n": 1})
    with pytest.raises(DuplicateKeyError):
        store.insert({"_id": "A3", "n": 2})
    assert store.load("A3")["n"] == 1


def test_replace_bumps_rev_and_appends_events(store):
    first, second = event(), event()
    store.insert({"_id": "B1", "n": 1}, [first])
    doc = store.load("B1")
    saved = store.replace({**doc, "n": 2}, [second])
    assert saved["_rev"] == 2
    loaded = store.load("B1")
    assert loaded["_rev"] == 2 and loaded["n"] == 2
    assert [e["event_id"] for e in loaded["outbox"]] == [first["event_id"], second["event_id"]]
    assert loaded["outbox_pending"] is True


def test_stale_replace_raises_concurrent_update(store):
    store.insert({"_id": "B2", "n": 1})
    a = store.load("B2")
    b = store.load("B2")
    store.replace({**a, "n": 2})
    with pytest.raises(ConcurrentUpdate):
        store.replace({**b, "n": 3}, [event()])
    loaded = store.load("B2")
    assert loaded["n"] == 2 and loaded["_rev"] == 2 and loaded["outbox"] == []


def test_replace_of_a_missing_document_raises(store):
    with pytest.raises(ConcurrentUpdate):
        store.replace({"_id": "nobody", "_rev": 1})


# --- idempotency: exact at any age ------------------------------------------------------

def test_an_event_applied_long_ago_is_still_recognised(store):
    """Hundreds of later events on the same document do not push an old one out of
    memory (the old design kept a window of 100 ids in the document)."""
    processed = ProcessedEvents(store.db)
    case_ref = new_id()
    store.insert({"_id": case_ref, **CaseValidation(case_ref).to_dict()})
    uow = unit(store, processed, consumer="test.exact")
    first = {"event_id": "evt-first"}
    assert uow.change(case_ref, lambda v: v.answer("wk_1", "confirmed", NOW), event=first).applied
    for i in range(150):
        uow.change(case_ref, lambda v: None, event={"event_id": f"evt-{i}"})
    doc = store.load(case_ref)
    assert len(doc["applied_events"]) <= APPLIED_WINDOW      # the document never grows a long window
    again = uow.change(case_ref, lambda v: v.answer("wk_1", "confirmed", NOW), event=first)
    assert not again.applied
    assert len(store.load(case_ref)["unsolicited"]) == 1
    # another consumer applying the same event is a different application
    other = unit(store, processed, consumer="test.other")
    assert other.change(case_ref, lambda v: None, event=first).applied


def test_a_crash_between_the_write_and_the_flush_is_still_exact(store):
    """The id lives in the document until a later write flushes it to
    processed_events: a redelivery in between finds it there."""
    processed = ProcessedEvents(store.db)
    case_ref = new_id()
    store.insert({"_id": case_ref, **CaseValidation(case_ref).to_dict()})
    uow = unit(store, processed, consumer="test.crash")
    uow.change(case_ref, lambda v: v.answer("wk_1", "confirmed", NOW), event={"event_id": "e1"})
    assert not processed.seen(key("test.crash", "e1"))       # not flushed yet
    assert not uow.change(case_ref, lambda v: v.answer("wk_1", "confirmed", NOW),
                          event={"event_id": "e1"}).applied
    for i in range(APPLIED_WINDOW):
        uow.change(case_ref, lambda v: None, event={"event_id": f"e2-{i}"})
    assert processed.seen(key("test.crash", "e1"))           # flushed by a later write, before it left
    assert len(store.load(case_ref)["unsolicited"]) == 1


def test_marking_keys_again_is_harmless(store):
    """A flush retried after a crash re-inserts keys already recorded."""
    processed = ProcessedEvents(store.db)
    processed.mark(["c:one"])
    processed.mark(["c:one", "c:two"])
    assert processed.seen("c:one") and processed.seen("c:two") and not processed.seen("c:three")


def test_bare_ids_of_earlier_versions_count_as_this_consumers(store):
    processed = ProcessedEvents(store.db)
    case_ref = new_id()
    store.insert({"_id": case_ref, **CaseValidation(case_ref).to_dict(), "applied_events": ["old-1", "old-2"]})
    uow = unit(store, processed, consumer="test.legacy")
    assert not uow.change(case_ref, lambda v: v.open_new_round(NOW), event={"event_id": "old-2"}).applied
    assert uow.change(case_ref, lambda v: None, event={"event_id": "new"}).applied
    for i in range(APPLIED_WINDOW):
        uow.change(case_ref, lambda v: None, event={"event_id": f"new-{i}"})
    assert processed.seen(key("test.legacy", "old-1")) and processed.seen(key("test.legacy", "old-2"))
    assert not uow.change(case_ref, lambda v: v.open_new_round(NOW), event={"event_id": "old-1"}).applied


# --- outbox ----------------------------------------------------------------------------

def test_pending_outbox_only_returns_events_older_than_the_grace(store):
    store.insert({"_id": "D-fresh"}, [event(age_seconds=0)])
    store.insert({"_id": "D-old"}, [event(age_seconds=30)])
    store.insert({"_id": "D-mixed"}, [event(age_seconds=0), event(age_seconds=30)])
    store.insert({"_id": "D-empty"})
    ids = {d["_id"] for d in pending_outbox(store, older_than_seconds=10)}
    assert ids == {"D-old", "D-mixed"}
    docs = pending_outbox(store, older_than_seconds=10)
    assert all("outbox" in d for d in docs)
    assert {d["_id"] for d in pending_outbox(store, older_than_seconds=60)} == set()
    assert len(pending_outbox(store, older_than_seconds=10, limit=1)) == 1    # two are pending


def test_an_old_pending_event_is_swept_however_many_fresh_ones_come_first(store):
    for i in range(3):
        store.insert({"_id": f"F{i}"}, [event(age_seconds=0)])
    store.insert({"_id": "OLD"}, [event(age_seconds=30)])
    assert [d["_id"] for d in pending_outbox(store, older_than_seconds=10, limit=2)] == ["OLD"]


def test_clear_outbox_removes_only_the_given_events(store):
    a, b, c = event(), event(), event()
    store.insert({"_id": "E1"}, [a, b, c])
    clear_outbox(store, "E1", {a["event_id"], c["event_id"]})
    doc = store.load("E1")
    assert [e["event_id"] for e in doc["outbox"]] == [b["event_id"]]
    assert doc["outbox_pending"] is True and doc["_rev"] == 2
    clear_outbox(store, "E1", {b["event_id"]})
    doc = store.load("E1")
    assert doc["outbox"] == [] and doc["outbox_pending"] is False
    assert pending_outbox(store, older_than_seconds=0) == []


def test_clear_outbox_of_unknown_ids_or_documents_changes_nothing(store):
    a = event()
    store.insert({"_id": "E2"}, [a])
    clear_outbox(store, "E2", {"not-there"})
    assert store.load("E2")["_rev"] == 1
    clear_outbox(store, "no-such-doc", {a["event_id"]})     # no error


def test_clear_outbox_keeps_events_appended_concurrently(db):
    """A writer appends an event between the relay's read and its write: the retry
    must keep the new event and still remove the relayed one."""
    relayed, appended = event(), event()

    class RacingStore(ThingStore):
        raced = False

        def load(self, doc_id):
            doc = super().load(doc_id)
            if not self.raced and doc is not None:
                self.raced = True
                self.replace(doc, [appended])             # the concurrent writer wins
            return doc                                     # ... and we hold the stale copy

    store = RacingStore(db)
    store.col = db["race_" + uuid.uuid4().hex[:8]]
    store.insert({"_id": "E3"}, [relayed])
    clear_outbox(store, "E3", {relayed["event_id"]})
    assert store.raced
    doc = ThingStore.load(store, "E3")
    assert [e["event_id"] for e in doc["outbox"]] == [appended["event_id"]]
    assert doc["outbox_pending"] is True
    assert doc["_rev"] == 3


def test_clear_outbox_gives_up_after_endless_conflicts(db):
    class AlwaysRacing(ThingStore):
        def load(self, doc_id):
            doc = super().load(doc_id)
            super().replace(doc)
            return doc

    store = AlwaysRacing(db)
    store.col = db["always_" + uuid.uuid4().hex[:8]]
    e = event()
    store.insert({"_id": "E4"}, [e])
    with pytest.raises(ConcurrentUpdate):
        clear_outbox(store, "E4", {e["event_id"]})


# --- UnitOfWork.change / create (shared/unit_of_work.py) on the real store --------------------------------------------------------

class FakeRelay:
    """Stands in for the broker: records what would have been published."""

    def __init__(self):
        self.calls = []

    def relay(self, store, doc):
        self.calls.append((store, doc))


def unit(store, processed=None, relay=None, correlation_id="c", consumer="test.consumer") -> UnitOfWork:
    return UnitOfWork(store, CaseValidation, relay or FakeRelay(), processed or ProcessedEvents(store.db),
                      correlation_id=lambda: correlation_id, consumer=lambda: consumer)


def create_validation(store, relay) -> str:
    case_ref = new_id()
    assert unit(store, relay=relay, correlation_id="corr-0").create(case_ref, CaseValidation(case_ref)) is True
    return case_ref


def test_create_inserts_relays_and_is_idempotent(store):
    relay = FakeRelay()
    case_ref = new_id()
    agg = CaseValidation(case_ref)
    agg.open_new_round(NOW)
    assert unit(store, relay=relay, correlation_id="corr-1").create(case_ref, agg) is True
    assert agg.raised == []                                       # drained into the document
    doc = store.load(case_ref)
    assert doc["_rev"] == 1 and len(doc["outbox"]) == 1
    assert doc["outbox"][0]["event_type"] == "validation.round_opened"
    assert doc["outbox"][0]["correlation_id"] == "corr-1" and doc["outbox"][0]["case_ref"] == case_ref
    assert len(relay.calls) == 1 and relay.calls[0][0] is store
    assert relay.calls[0][1]["_id"] == case_ref
    # the same creation again changes nothing and relays nothing
    assert unit(store, relay=relay, correlation_id="corr-2").create(case_ref, CaseValidation(case_ref)) is False
    assert store.load(case_ref)["_rev"] == 1 and len(relay.calls) == 1


def test_change_saves_the_decision_and_relays_its_events(store):
    relay = FakeRelay()
    case_ref = create_validation(store, relay)
    relay.calls.clear()
    asked = ["wk_" + c * 32 for c in "abc"]

    def open_round(v):
        for worker in asked:
            v.add_affected(worker, NOW)
        return v.open_new_round(NOW, asked)
    changed = unit(store, relay=relay, correlation_id="corr-1").change(case_ref, open_round)
    agg = changed.aggregate
    assert isinstance(agg, CaseValidation) and agg.open_round["round_no"] == 1
    assert changed.result["round_no"] == 1                # what the decision returned
    doc = store.load(case_ref)
    assert doc["_rev"] == 2
    assert doc["rounds"][0]["status"] == "open" and doc["rounds"][0]["asked"] == asked
    assert [e["event_type"] for e in doc["outbox"]] == ["validation.round_opened", "validation.outreach_requested"]
    assert doc["outbox"][0]["data"] == {"round_no": 1, "opened_at": iso(NOW)}
    assert len(relay.calls) == 1 and relay.calls[0][1]["_rev"] == 2


def test_change_with_no_events_does_not_relay(store):
    relay = FakeRelay()
    case_ref = create_validation(store, relay)
    relay.calls.clear()
    unit(store, relay=relay, correlation_id="c").change(case_ref, lambda v: v.answer("wk_" + "a" * 32, "confirmed", NOW))
    doc = store.load(case_ref)
    assert doc["_rev"] == 2 and len(doc["unsolicited"]) == 1
    assert relay.calls == []


def test_change_of_a_missing_document_raises_not_found(store):
    relay = FakeRelay()
    with pytest.raises(NotFound, match="ILM-NOPE"):
        unit(store, relay=relay).change("ILM-NOPE", lambda v: None)

    class Gone(Exception):
        pass

    with pytest.raises(Gone):
        unit(store, relay=relay).change("ILM-NOPE", lambda v: None, missing=lambda _: Gone())
    assert relay.calls == []


def test_a_refused_decision_changes_nothing(store):
    relay = FakeRelay()
    case_ref = create_validation(store, relay)
    unit(store, relay=relay, correlation_id="c").change(case_ref, lambda v: v.open_new_round(NOW))
    before = store.load(case_ref)
    relay.calls.clear()

    def decide(v):
        v.open_new_round(NOW)          # raises: round 1 is still open
    with pytest.raises(InvalidTransition):
        unit(store, relay=relay, correlation_id="c").change(case_ref, decide)

    def half_done(v):                 # mutates, raises an event, then fails
        v.answer("wk_" + "b" * 32, "confirmed", NOW)
        raise RuntimeError("boom")
    with pytest.raises(RuntimeError):
        unit(store, relay=relay, correlation_id="c").change(case_ref, half_done)

    assert store.load(case_ref) == before
    assert relay.calls == []


def test_applied_event_makes_a_second_call_a_no_op(store):
    relay = FakeRelay()
    case_ref = create_validation(store, relay)
    relay.calls.clear()
    calls = []

    def decide(v):
        calls.append(1)
        v.open_new_round(NOW)

    first = unit(store, relay=relay, correlation_id="c").change(case_ref, decide, event={"event_id": "evt-1"})
    assert first.applied and first.aggregate.open_round["round_no"] == 1
    after_first = store.load(case_ref)
    assert after_first["applied_events"] == ["test.consumer:evt-1"] and after_first["_rev"] == 2
    second = unit(store, relay=relay, correlation_id="c").change(case_ref, decide, event={"event_id": "evt-1"})
    assert not second.applied and second.aggregate is None
    assert calls == [1]                                  # decide never ran the second time
    assert store.load(case_ref) == after_first
    assert len(relay.calls) == 1
    # a different event is applied normally (and here refused by the domain)
    with pytest.raises(InvalidTransition):
        unit(store, relay=relay, correlation_id="c").change(case_ref, decide, event={"event_id": "evt-2"})


def test_change_retries_when_another_writer_wins(db):
    class RacingStore(ThingStore):
        raced = False

        def load(self, doc_id):
            doc = super().load(doc_id)
            if not self.raced:
                self.raced = True
                self.replace({**doc, "unsolicited": [{"worker_key": "wk_x", "answer": "confirmed",
                                                      "at": iso(NOW)}]})
            return doc

    store = RacingStore(db)
    store.col = db["retry_" + uuid.uuid4().hex[:8]]
    case_ref = new_id()
    store.insert({"_id": case_ref, **CaseValidation(case_ref).to_dict()})
    relay = FakeRelay()
    decisions = []

    def decide(v):
        decisions.append(len(v.unsolicited))
        v.open_new_round(NOW)

    unit(store, relay=relay, correlation_id="c").change(case_ref, decide)
    assert decisions == [0, 1]                           # the second attempt saw the winner's write
    doc = ThingStore.load(store, case_ref)
    assert doc["_rev"] == 3
    assert len(doc["unsolicited"]) == 1 and doc["rounds"][0]["round_no"] == 1
    assert len(doc["outbox"]) == 1                       # the failed attempt's event was not kept
    assert len(relay.calls) == 1


def test_events_in_the_outbox_pass_their_contract(store):
    relay = FakeRelay()
    case_ref = create_validation(store, relay)
    unit(store, relay=relay, correlation_id="c").change(case_ref, lambda v: v.open_new_round(NOW))
    (stored,) = store.load(case_ref)["outbox"]
    rebuilt = make_event(VALIDATION_ROUND_OPENED, case_ref, stored["data"], stored["correlation_id"],
                         event_id=stored["event_id"])
    assert {k: v for k, v in rebuilt.items() if k != "occurred_at"} == \
        {k: v for k, v in stored.items() if k != "occurred_at"}
