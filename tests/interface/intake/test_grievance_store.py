"""Intake's store queries (services/intake/store.py) on the embedded Mongo server, and
the in-memory fake (tests/fakes.py) held to the same answers: a worker's chat thread
for validation outreach is the newest of their grievances with a chat still open and
data not erased."""
import pytest

from services.intake.store import GrievanceStore
from shared.repository import database
from tests.conftest import RUN_ID
from tests.fakes import FakeGrievanceStore

WORKER = f"wk-{RUN_ID}"


def grievance(ref, received_at, worker_key=WORKER, chat_key="ck", ended_at=None, erased_at=None):
    return {"_id": f"ILM-{RUN_ID}-{ref}", "worker_key": worker_key, "received_at": received_at,
            "chat_key": chat_key, "ended_at": ended_at, "erased_at": erased_at}


@pytest.fixture(params=["mongo", "fake"])
def store(request):
    if request.param == "fake":
        return FakeGrievanceStore()
    request.getfixturevalue("mongo")
    repo = GrievanceStore(database("intake_store_test"))
    repo.col.delete_many({})
    repo.ensure_indexes()
    return repo


def test_the_newest_open_chat_thread_of_the_worker(store):
    store.insert(grievance("OLD", "2026-01-01T00:00:00.000Z"))
    store.insert(grievance("NEW", "2026-03-01T00:00:00.000Z", chat_key="ck2"))
    store.insert(grievance("FORM", "2026-04-01T00:00:00.000Z", chat_key=None))          # no chat
    store.insert(grievance("ENDED", "2026-05-01T00:00:00.000Z", ended_at="2026-05-02T00:00:00.000Z"))
    store.insert(grievance("OTHER", "2026-06-01T00:00:00.000Z", worker_key="someone-else"))
    assert store.chat_thread_of_worker(WORKER) == f"ILM-{RUN_ID}-NEW"


def test_a_worker_with_no_open_chat_has_no_thread(store):
    store.insert(grievance("ERASED", "2026-01-01T00:00:00.000Z", chat_key=None, ended_at="2026-02-01T00:00:00.000Z",
                           erased_at="2026-02-01T00:00:00.000Z"))
    store.insert(grievance("FORM", "2026-04-01T00:00:00.000Z", chat_key=None))
    assert store.chat_thread_of_worker(WORKER) is None
    assert store.chat_thread_of_worker("never-seen") is None
