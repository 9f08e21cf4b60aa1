"""The UnitOfWork on in-memory fakes: what a handler can rely on."""
from datetime import datetime, timezone

import pytest

from services.validation.domain import CaseValidation
from shared.errors import ConcurrentUpdate, InvalidTransition, NotFound
from shared.unit_of_work import APPLIED_WINDOW
from tests.fakes import FakeRelay, FakeRepository, unit_of_work

NOW = datetime(2026, 11, 1, 9, 0, tzinfo=timezone.utc)


@pytest.fixture
def uow():
    u = unit_of_work(CaseValidation)
    u.create("ILM-1", CaseValidation("ILM-1"))
    return u


def test_change_returns_the_aggregate_and_what_the_domain_decided(uow):
    changed = uow.change("ILM-1", lambda v: v.open_new_round(NOW))
    assert changed.applied and changed.aggregate.open_round["status"] == "open"
    assert changed.result["round_no"] == 1
    assert uow.relay.types() == ["validation.round_opened"]
    (event,) = uow.relay.published
    assert event["case_ref"] == "ILM-1" and event["correlation_id"] == "corr-test"


def test_a_refused_decision_writes_and_publishes_nothing(uow):
    uow.change("ILM-1", lambda v: v.open_new_round(NOW))
    before, writes = uow.repo.load("ILM-1"), uow.repo.writes
    with pytest.raises(InvalidTransition):
        uow.change("ILM-1", lambda v: v.open_new_round(NOW))
    assert uow.repo.load("ILM-1") == before and uow.repo.writes == writes
    assert uow.relay.types() == ["validation.round_opened"]


def test_missing_aggregate_raises_the_callers_error():
    u = unit_of_work(CaseValidation)
    with pytest.raises(NotFound):
        u.change("nope", lambda v: None)
    with pytest.raises(InvalidTransition, match="no round"):
        u.change("nope", lambda v: None, missing=lambda _: InvalidTransition("no round"))


def test_create_is_idempotent(uow):
    assert uow.create("ILM-1", CaseValidation("ILM-1")) is False
    assert uow.repo.load("ILM-1")["_rev"] == 1


def test_an_event_is_applied_once_however_late_it_comes_back(uow):
    calls = []
    decide = lambda v: calls.append(1)  # noqa: E731
    assert uow.change("ILM-1", decide, event={"event_id": "e1"}).applied
    for i in range(300):
        uow.change("ILM-1", lambda v: None, event={"event_id": f"later-{i}"})
    assert not uow.change("ILM-1", decide, event={"event_id": "e1"}).applied
    assert calls == [1]
    kept = uow.repo.load("ILM-1")["applied_events"]
    assert kept[-1] == "svc.handler:later-299" and len(kept) <= APPLIED_WINDOW
    assert "svc.handler:e1" in uow.processed.keys                   # flushed before it left the document


def test_change_or_create_creates_on_first_use():
    u = unit_of_work(CaseValidation)
    changed = u.change_or_create("ILM-9", lambda v: v.open_new_round(NOW), lambda: CaseValidation("ILM-9"),
                                 event={"event_id": "e"})
    assert changed.applied and u.repo.load("ILM-9")["rounds"][0]["round_no"] == 1


def test_conflicts_are_retried_then_raised_and_counted():
    from shared import metrics

    class AlwaysRacing(FakeRepository):
        def replace(self, doc, events=(), **fields):
            raise ConcurrentUpdate(doc["_id"])

    u = unit_of_work(CaseValidation, repo=AlwaysRacing(), relay=FakeRelay())
    u.create("ILM-2", CaseValidation("ILM-2"))
    counter = metrics.REVISION_CONFLICTS_EXHAUSTED.labels("fake")
    before = counter._value.get()
    with pytest.raises(ConcurrentUpdate):
        u.change("ILM-2", lambda v: None)
    assert counter._value.get() == before + 1
