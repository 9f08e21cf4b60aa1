"""In-memory stand-ins for the store, the outbox relay and the processed-events
record, with the same semantics as the real ones (revision guard, duplicate ids,
outbox fields), so handlers are tested in milliseconds without Mongo or RabbitMQ.
The real ones are held to the same behaviour in tests/integration/test_repository.py."""
from __future__ import annotations

import copy

from services.notifications.client import Answer
from services.notifications.domain import CircuitPolicy, RetryPolicy
from shared.errors import ConcurrentUpdate
from shared.outbox import clear_outbox
from shared.repository import DuplicateKeyError
from shared.unit_of_work import UnitOfWork


class FakeRepository:
    collection_name = "fake"

    def __init__(self):
        self.docs: dict[str, dict] = {}
        self.writes = 0

    def ensure_indexes(self):
        pass

    def load(self, doc_id):
        return copy.deepcopy(self.docs.get(doc_id))

    def insert(self, doc, events=()):
        if doc["_id"] in self.docs:
            raise DuplicateKeyError(f"duplicate {doc['_id']}")
        doc = dict(doc, _rev=1, outbox=list(events), outbox_pending=bool(events))
        self.docs[doc["_id"]] = copy.deepcopy(doc)
        self.writes += 1
        return doc

    def insert_many(self, docs):
        for d in docs:
            self.insert(d)

    def page(self, query, limit, after=None, key="_id"):
        """Equality filters only, plus the partner scope's ``$or`` of ``$in``s."""
        def matches(doc):
            plain = all(doc.get(k) == v for k, v in query.items() if k != "$or")
            return plain and (not query.get("$or") or any(
                doc.get(k) in cond["$in"] for alt in query["$or"] for k, cond in alt.items()))
        docs = sorted((d for d in self.docs.values() if matches(d) and (after is None or d[key] > after)),
                      key=lambda d: d[key])
        return copy.deepcopy(docs[:limit]), (docs[limit - 1][key] if len(docs) > limit else None)

    def replace(self, doc, events=(), **fields):
        stored = self.docs.get(doc["_id"])
        if stored is None or stored["_rev"] != doc["_rev"]:
            raise ConcurrentUpdate(doc["_id"])
        outbox = list(doc.get("outbox", [])) + list(events)
        new = dict(doc, **fields, _rev=doc["_rev"] + 1, outbox=outbox, outbox_pending=bool(outbox))
        self.docs[doc["_id"]] = copy.deepcopy(new)
        self.writes += 1
        return new


class FakeRelay:
    """Publishes at once: records each event and clears it from the outbox (of a fake
    repository, or of a real store on the embedded server)."""

    def __init__(self):
        self.published: list[dict] = []

    def relay(self, repo, doc):
        self.published.extend(doc["outbox"])
        if not hasattr(repo, "docs"):
            clear_outbox(repo, doc["_id"], {e["event_id"] for e in doc["outbox"]}, doc)
            return True
        stored = repo.docs.get(doc["_id"])
        if stored is not None:
            stored["outbox"], stored["outbox_pending"] = [], False
        return True

    def types(self) -> list[str]:
        return [e["event_type"] for e in self.published]


class FakeProcessed:
    def __init__(self):
        self.keys: set[str] = set()

    def seen(self, event_key):
        return event_key in self.keys

    def mark(self, event_keys):
        self.keys.update(event_keys)


class FakePartyStore(FakeRepository):
    def linked_to(self, supplier_refs):
        return [copy.deepcopy(d) for d in self.docs.values()
                if set(supplier_refs) & {*d["links"].get("site_of", ()), *d["links"].get("recruits_for", ())}]

    def partners_sourcing_from(self, supplier_refs):
        return [d["_id"] for d in self.docs.values()
                if d["kind"] == "partner" and set(supplier_refs) & set(d["links"].get("sources_from", ()))]


# --- notifications ---------------------------------------------------------------------

class FakeNotificationStore(FakeRepository):
    def __init__(self):
        super().__init__()
        self.subs: dict[str, dict] = {}
        self.chains: dict[str, dict] = {}

    def save_chain(self, partner_ref, version, refs):
        if self.chains.get(partner_ref, {"version": 0})["version"] >= version:
            return False
        self.chains[partner_ref] = {"version": version, "refs": list(refs)}
        return True

    def all_chains(self):
        return {ref: frozenset(c["refs"]) for ref, c in self.chains.items()}

    def add_subscription(self, sub):
        self.subs[sub["subscription_id"]] = dict(sub)

    def subscriptions_for(self, webhook_type):
        return [s for s in self.subs.values() if webhook_type in s["event_types"]]

    def subscription(self, subscription_id):
        return copy.deepcopy(self.subs.get(subscription_id))

    def subscriptions_page(self, owner, limit, after=None):
        ids = sorted(i for i, s in self.subs.items() if owner in (None, s["partner_id"]) and (after is None or i > after))
        return [copy.deepcopy(self.subs[i]) for i in ids[:limit]], (ids[limit - 1] if len(ids) > limit else None)

    def untold_disablings(self, limit):
        return [copy.deepcopy(d) for d in self.subs.values() if not d.get("active", True)
                and (d.get("owner_notice") or {}).get("at") and d["owner_notice"].get("sent_by") is None][:limit]

    def update_subscription(self, subscription_id, changes):
        if subscription_id in self.subs:
            self.subs[subscription_id].update(changes)

    def claim_probe(self, subscription_id, open_until, new_open_until):
        sub = self.subs.get(subscription_id)
        if sub is None or sub.get("circuit_open_until") != open_until:
            return False
        sub["circuit_open_until"] = new_open_until
        return True

    def delete_subscription(self, subscription_id):
        self.subs.pop(subscription_id, None)
        for d in self._of(subscription_id, ("pending", "stopped")):
            d.update(status="cancelled", next_attempt_at=None)

    def stop_pending(self, subscription_id):
        held = self._of(subscription_id, ("pending",))
        for d in held:
            d.update(status="stopped", next_attempt_at=None)
        return len(held)

    def held_for(self, subscription_id):
        return copy.deepcopy(self._of(subscription_id, ("stopped",)))

    def between(self, subscription_id, since, until, limit=1000):
        return copy.deepcopy([d for d in self.docs.values()
                              if d["subscription_id"] == subscription_id and since <= d["event_at"] <= until])

    def _of(self, subscription_id, statuses):
        return [d for d in self.docs.values() if d["subscription_id"] == subscription_id and d["status"] in statuses]

    def due_deliveries(self, now_iso, urgent_only=False, limit=100):
        return [d for d in self.docs.values() if (not urgent_only or d["urgent"]) and (
            (d["status"] == "pending" and d["next_attempt_at"] <= now_iso)
            or (d["status"] == "sending" and d["lease_until"] <= now_iso))]

    def deliveries_for(self, subscription_id, limit=50, after=None):
        return self.page({"subscription_id": subscription_id}, limit, after, key="log_key")


class FakeSender:
    """``answers``: what the receiver answers, in turn: True (200), False (503), or an
    ``Answer``; then 200."""
    lease_seconds, secret_overlap = 15, 3600
    retry = RetryPolicy(schedule=(0, 2, 4), jitter=0)
    circuit = CircuitPolicy(failures=100, cooldown=60, disable_after=86400)

    def __init__(self, store, answers=()):
        self.store, self.answers, self.posts = store, list(answers), []

    def seal_secret(self, secret, sub_id):
        return "sealed:" + secret

    def secrets_of(self, sub, now):
        return [s.removeprefix("sealed:") for s in sub.signing_secrets(now)]

    def subscriptions(self, store, event_type):
        return store.subscriptions_for(event_type)

    def forget_subscriptions(self):
        pass

    def chains(self, store):
        return store.all_chains()

    def forget_chains(self):
        pass

    def post(self, url, delivery_id, secrets, body):
        # What the store held while the request was in flight.
        self.posts.append({"url": url, "id": delivery_id, "secrets": secrets, "stored": self.store.load(delivery_id)})
        answer = self.answers.pop(0) if self.answers else True
        if isinstance(answer, bool):
            answer = Answer(answer, "http_200" if answer else "http_503")
        return answer, 3.0


def webhook_world(event_types, owner, now):
    """A notifications store, its unit of work and a fake sender, with one endpoint of
    ``owner`` registered for ``event_types`` and owner BRAND-1's chain holding SUP-1."""
    from services.notifications import handlers
    from services.notifications.domain import Delivery
    store = FakeNotificationStore()
    deliveries = unit_of_work(Delivery, repo=store)
    sender = FakeSender(store)
    hook = handlers.register_webhook(deliveries, sender, {
        "url": "http://brand.example/hook", "event_types": list(event_types)}, owner, now)
    store.save_chain("BRAND-1", 1, ["SUP-1"])    # the registry's word, projected from party.chain_changed
    return store, deliveries, sender, hook


def unit_of_work(aggregate_cls, repo=None, relay=None, consumer="svc.handler") -> UnitOfWork:
    return UnitOfWork(repo if repo is not None else FakeRepository(), aggregate_cls,
                      relay if relay is not None else FakeRelay(), FakeProcessed(),
                      correlation_id=lambda: "corr-test", consumer=lambda: consumer)


class FakeCaller:
    """The ``caller`` dependency of a worker_factory service, already verified as
    ``principal`` (the token itself is tested in test_auth and the interface tier)."""

    def __init__(self, principal):
        self._principal = principal
        self.vouched = []

    def principal(self, roles=None):
        return self._principal if roles is None else self._principal.require(roles)

    def vouch(self, principal):
        self.vouched.append(principal)


class FakeGrievanceStore(FakeRepository):
    """services/intake/store.py's chat queries over the dict."""

    def open_case_of_chat(self, chat_key):
        docs = [d for d in self.docs.values() if d.get("chat_key") == chat_key and not d.get("ended_at")]
        return max(docs, key=lambda d: d["received_at"])["_id"] if docs else None

    def chat_thread_of_worker(self, worker_key):
        docs = [d for d in self.docs.values() if d.get("worker_key") == worker_key and d.get("chat_key")
                and not d.get("ended_at") and not d.get("erased_at")]
        return max(docs, key=lambda d: d["received_at"])["_id"] if docs else None

    def with_replies_pending(self, limit=50):
        return [d["_id"] for d in self.docs.values() if d.get("replies_pending")][:limit]
