"""Realistic case documents for the scale test, made by the real domain.

Walking every one of a million cases through ``services.remediation.domain.Case``
costs ~0.3 ms each (measured: see ``walk_cost``), so documents are made from
templates: for every supplier a number of cases (more for bigger suppliers) are
opened with ``Case.open`` and walked through triage, refer, acknowledge, plan,
remediation, validation, closure or withdrawal with the domain's own methods, at
varied times (deadlines met and missed), and each document is a shallow copy of one
of its supplier's templates with its own ``_id``/``case_ref``/``worker_key``. The
result is exactly what the service stores: ``Case.to_dict()`` plus the store's
``_rev``/``outbox``/``outbox_pending``/``applied_events``.

Suppliers follow a Zipf-like distribution (weight 1/rank^0.9): with 2,000 suppliers
the biggest has ~8% of all cases, the median a few hundred per million.
"""
from __future__ import annotations

import itertools
import random
import time
from datetime import datetime, timedelta, timezone

from services.remediation.domain import Case

STAFF = {"id": "cw-bench", "role": "case_worker"}
SYSTEM_INTAKE = None
WORK_AREAS = ("labour_recruitment", "working_conditions", "employer_employee_relations",
              "living_eating_conditions")
CHANNELS = ("hotline", "line", "facebook_messenger", "whatsapp", "sms", "worker_app", "in_person",
            "ngo_referral")
LANGUAGES = ("my", "th", "km", "lo", "en", "ne")
INDICATORS = ("withholding_of_wages", "excessive_overtime", "retention_of_identity_documents",
              "debt_bondage", "deception")
# Where a case's walk stops (weights): most cases are old and closed.
FINAL = (("received", 4), ("triaged", 4), ("referred", 8), ("acknowledged", 7), ("plan_submitted", 6),
         ("remediating", 10), ("remediation_reported", 4), ("validating", 5), ("closed", 46),
         ("withdrawn", 6))
ORDER = ("received", "triaged", "referred", "acknowledged", "plan_submitted", "remediating",
         "remediation_reported", "validating", "closed")
_ALPHABET = "23456789ABCDEFGHJKMNPQRSTVWXYZ"


def supplier_refs(n: int) -> list[str]:
    return [f"SUP-{i:05d}" for i in range(1, n + 1)]


def zipf_weights(n: int, s: float = 0.9) -> list[float]:
    return [1 / (rank ** s) for rank in range(1, n + 1)]


def case_ref(n: int) -> str:
    """Unique, in the alphabet intake uses (ILM- + 8 characters)."""
    chars = []
    for _ in range(8):
        n, r = divmod(n, len(_ALPHABET))
        chars.append(_ALPHABET[r])
    return "ILM-" + "".join(reversed(chars))


def walk(rng: random.Random, ref: str, supplier: str, deadlines: dict, now: datetime) -> Case:
    """One case, opened and walked to a random final state at varied times."""
    final = rng.choices([f for f, _ in FINAL], weights=[w for _, w in FINAL])[0]
    indicators = rng.sample(INDICATORS, rng.choice((0, 0, 0, 1, 2)))
    severity = "critical" if indicators else rng.choice(("high", "normal", "normal"))
    t = now - timedelta(days=rng.uniform(1, 730), seconds=rng.uniform(0, 86400))
    grievance = {"severity": severity, "work_area": rng.choice(WORK_AREAS),
                 "worker_key": "wk_" + "%032x" % rng.getrandbits(128), "channel": rng.choice(CHANNELS),
                 "language": rng.choice(LANGUAGES), "retaliation": rng.random() < 0.03,
                 "forced_labour_indicators": indicators, "supplier_ref": supplier,
                 "site_ref": f"SITE-{supplier[4:]}-{rng.randint(1, 4)}", "agency_ref": None}
    case = Case.open(ref, grievance, t)
    business = {"id": supplier, "role": "supplier"}
    stop = ORDER.index(final) if final in ORDER else rng.randint(0, 6)

    def later(max_days: float) -> datetime:
        nonlocal t
        t = min(now, t + timedelta(days=rng.uniform(0.02, max_days)))
        return t

    plan = [{"type": "back_pay", "description": "Pay the overtime owed", "owner": "HR manager",
             "due_date": "2026-12-15", "amount": "120000.00", "currency": "THB", "workers_count": 40}]
    steps = [
        lambda: case.triage(STAFF, later(3), rng.choice((None, "high", "critical"))),
        lambda: case.refer(STAFF, later(5), supplier, "supplier", deadlines),
        lambda: case.acknowledge(business, later(10), deadlines),           # some miss the deadline
        lambda: case.submit_plan(business, later(25), plan),
        lambda: case.accept_plan(STAFF, later(7), deadlines),
        lambda: case.report_remediation(business, later(70), "Back pay transferred", ["slip-1.pdf"]),
        lambda: case.start_validation(1, later(2)),
    ]
    for step in steps[:stop]:
        step()
    if final == "closed":
        if rng.random() < 0.25:     # workers said it was not real: reopened, fixed again
            case.apply_validation_outcome(1, "not_resolved", later(20), deadlines)
            case.report_remediation(business, later(30), "Remainder paid", ["slip-2.pdf"])
            case.start_validation(2, later(2))
            case.apply_validation_outcome(2, "confirmed", later(20), deadlines)
        else:
            case.apply_validation_outcome(1, "confirmed", later(20), deadlines)
    elif final == "withdrawn":
        case.withdraw({"id": case.worker_key, "role": "worker", "case_ref": case.case_ref}, later(10),
                      "The worker asked to withdraw")
    case.raised.clear()
    return case


def stored(case: Case) -> dict:
    """The document CaseStore keeps for ``case`` (shared.repository.Repository.insert/replace)."""
    return {"_id": case.case_ref, **case.to_dict(), "_rev": case.version, "outbox": [],
            "outbox_pending": False, "applied_events": []}


class CaseGenerator:
    def __init__(self, total: int, suppliers: int = 2000, seed: int = 4, deadlines: dict | None = None,
                 now: datetime | None = None):
        from shared.config import settings
        self.total, self.rng = total, random.Random(seed)
        self.deadlines = deadlines or settings().deadlines
        self.now = now or datetime.now(timezone.utc)
        self.suppliers = supplier_refs(suppliers)
        weights = zipf_weights(suppliers)
        self.cum = list(itertools.accumulate(weights))
        share = [w / self.cum[-1] for w in weights]
        # Templates per supplier: more for bigger suppliers (about one per 100 cases).
        self.per_supplier = [max(3, min(60, int(total * p / 100))) for p in share]
        self.templates: dict[str, list[dict]] = {}
        self.walks = 0
        self.walk_seconds = 0.0
        self.made_per_supplier = [0] * suppliers
        # supplier index -> template index -> documents made from it
        self.usage: dict[int, dict[int, int]] = {}

    def _templates(self, index: int) -> list[dict]:
        sup = self.suppliers[index]
        got = self.templates.get(sup)
        if got is None:
            started = time.perf_counter()
            got = [stored(walk(self.rng, "ILM-TEMPLATE", sup, self.deadlines, self.now))
                   for _ in range(self.per_supplier[index])]
            self.walk_seconds += time.perf_counter() - started
            self.walks += len(got)
            self.templates[sup] = got
        return got

    def batches(self, size: int = 1000):
        """Yield lists of ``size`` documents until ``total`` are made."""
        made = 0
        indices = range(len(self.suppliers))
        while made < self.total:
            k = min(size, self.total - made)
            picks = self.rng.choices(indices, cum_weights=self.cum, k=k)
            batch = []
            for j, i in enumerate(picks):
                self.made_per_supplier[i] += 1
                templates = self._templates(i)
                t = self.rng.randrange(len(templates))
                used = self.usage.setdefault(i, {})
                used[t] = used.get(t, 0) + 1
                tpl = templates[t]
                ref = case_ref(made + j)
                doc = dict(tpl)
                doc["_id"] = doc["case_ref"] = ref
                doc["worker_key"] = "wk_%032x" % self.rng.getrandbits(128)
                batch.append(doc)
            made += k
            yield batch

    def count_rest(self):
        """Pick the documents of ``total`` not made yet (usage only, nothing copied):
        what a store of ``total`` cases would hold, for counts built from templates."""
        made = sum(self.made_per_supplier)
        indices = range(len(self.suppliers))
        while made < self.total:
            k = min(100_000, self.total - made)
            for i in self.rng.choices(indices, cum_weights=self.cum, k=k):
                self.made_per_supplier[i] += 1
                t = self.rng.randrange(len(self._templates(i)))
                used = self.usage.setdefault(i, {})
                used[t] = used.get(t, 0) + 1
            made += k

    def template_usage(self):
        """(template document, how many documents were made from it) for every template used."""
        for i, used in self.usage.items():
            templates = self.templates[self.suppliers[i]]
            for k, n in used.items():
                yield templates[k], n

    def cases_by_business(self):
        """(business_ref, [case documents referred to it]) for every supplier with
        documents made so far: what ``CaseStore.cases_of_business`` would read back
        (template documents repeated, not copied)."""
        for i, used in self.usage.items():
            sup = self.suppliers[i]
            templates = self.templates[sup]
            cases = []
            for k, n in used.items():
                if templates[k].get("business_ref") == sup:
                    cases.extend([templates[k]] * n)
            if cases:
                yield sup, cases

    def biggest_supplier(self) -> str:
        return self.suppliers[0]


def walk_cost(n: int = 300) -> float:
    """Seconds per full domain walk + to_dict (to justify templates)."""
    gen = CaseGenerator(n, suppliers=10)
    started = time.perf_counter()
    for i in range(n):
        stored(walk(gen.rng, case_ref(i), "SUP-00001", gen.deadlines, gen.now))
    return (time.perf_counter() - started) / n
