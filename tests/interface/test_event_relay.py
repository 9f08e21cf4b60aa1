"""The outbox relay (shared/outbox.py EventPublisher.relay) against the embedded Mongo
server and a real RabbitMQ vhost of its own: a publish failing part-way clears only
the events that went out; an event no queue is bound for (unroutable: the broker
returns it) stays in the outbox for the sweep, counted as a failed publish."""
import uuid

import pytest

from scripts.stack import create_vhost, delete_vhost
from shared import metrics
from shared.contracts.events import REPORT_COUNTS_CHANGED, make_event
from shared.outbox import EventPublisher
from shared.repository import Repository, database
from tests.conftest import _BROKER


class Docs(Repository):
    service, collection_name = "relaytest", "docs"


@pytest.fixture
def repo(mongo):
    docs = Docs(database("relay_test"))
    docs.col.delete_many({})
    return docs


@pytest.fixture
def empty_vhost(rabbitmq):
    """A vhost where no queue is bound: every event is unroutable there."""
    name = f"ilm-relay-{uuid.uuid4().hex[:8]}"
    yield create_vhost(_BROKER, name)
    delete_vhost(name)


def counts_changed(n: int) -> dict:
    return make_event(REPORT_COUNTS_CHANGED, "ILM-R1", {"scope": f"SUP-{n}", "cells": {}, "paid": {}}, "c")


def failed_publishes(event_type: str) -> float:
    return metrics.EVENTS_PUBLISH_FAILED.labels(event_type)._value.get()


def test_a_publish_failing_part_way_clears_only_what_went_out(repo, empty_vhost, monkeypatch):
    events = [counts_changed(n) for n in range(3)]
    doc = repo.insert({"_id": "ILM-R1"}, events)
    sent = []

    def publish(self, event):
        if len(sent) == 1:
            raise ConnectionResetError("broker went away")
        sent.append(event["event_id"])
    monkeypatch.setattr(EventPublisher, "publish", publish)
    publisher = EventPublisher(empty_vhost)
    before = failed_publishes(REPORT_COUNTS_CHANGED.name)
    assert publisher.relay(repo, doc) is False
    stored = repo.load("ILM-R1")
    assert [e["event_id"] for e in stored["outbox"]] == [e["event_id"] for e in events[1:]]
    assert stored["outbox_pending"] is True
    assert failed_publishes(REPORT_COUNTS_CHANGED.name) == before + 1
    assert publisher.unreachable_at > float("-inf")           # transient: the door says so meanwhile


def test_an_unroutable_event_stays_in_the_outbox(repo, empty_vhost):
    event = counts_changed(9)
    doc = repo.insert({"_id": "ILM-R2"}, [event])
    before = failed_publishes(REPORT_COUNTS_CHANGED.name)
    assert EventPublisher(empty_vhost).relay(repo, doc) is False
    stored = repo.load("ILM-R2")
    assert [e["event_id"] for e in stored["outbox"]] == [event["event_id"]] and stored["outbox_pending"] is True
    assert failed_publishes(REPORT_COUNTS_CHANGED.name) == before + 1
