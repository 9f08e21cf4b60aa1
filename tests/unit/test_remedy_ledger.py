"""The remedy ledger (services/remediation/ledger.py, remedy.py): exact decimal
arithmetic, currencies never mixed, over-payment refused until a correction, who may
record what, idempotent retries, totals per case and per business, and the trail."""
from decimal import Decimal

import pytest

from services.remediation import handlers, remedy
from services.remediation.domain import Case
from services.remediation.ledger import Line, LedgerTotals, money
from shared.contracts import rpc as contract
from shared.contracts.common import load
from shared.contracts.events import GRIEVANCE_RECEIVED, LEDGER_ENTRY_RECORDED, make_event, parse_event
from shared.errors import Forbidden, InvalidInput, InvalidTransition, NotFound
from tests.fakes import FakeRelay, FakeRepository, unit_of_work
from tests.unit.test_handlers_remediation_validation import ACTION, GRIEVANCE, NOW, POLICY, STAFF, SUPPLIER, cmd

WORKER_A, WORKER_B = "wk_" + "a" * 32, "wk_" + "b" * 32
OTHER = {"id": "SUP-2", "role": "supplier"}


class FakeLedgerStore(FakeRepository):
    def of_case(self, case_ref):
        return [d for d in self.docs.values() if d["case_ref"] == case_ref]


class World:
    def __init__(self):
        self.relay = FakeRelay()
        self.cases = unit_of_work(Case, consumer="remediation.audit_ledger_entry")
        self.lines = unit_of_work(Line, FakeLedgerStore(), self.relay, consumer="remediation.record")
        self.totals = unit_of_work(LedgerTotals, consumer="remediation.count_ledger_entry")
        handlers.open_case(self.cases, make_event(GRIEVANCE_RECEIVED, "ILM-1", GRIEVANCE, "c"), NOW)
        handlers.triage(self.cases, cmd(severity=None, note=None), STAFF, NOW)
        handlers.refer(self.cases, cmd(business_ref="SUP-1", business_type="supplier"), STAFF, NOW, POLICY)
        handlers.acknowledge(self.cases, cmd(note=None), SUPPLIER, NOW, POLICY)
        handlers.submit_plan(self.cases, cmd(actions=[dict(ACTION, amount="3000", currency="THB")]), SUPPLIER, NOW)
        handlers.accept_plan(self.cases, cmd(note=None), STAFF, NOW, POLICY)

    def record(self, actor, **fields):
        p = load(contract.LedgerEntry, {"case_ref": "ILM-1", **fields})
        line = remedy.record_entry(self.lines, self.cases, p, actor, NOW)
        self.deliver()
        return line

    def owe(self, entry_id, amount, worker=WORKER_A, currency="THB", **kw):
        return self.record(STAFF, entry_id=entry_id, type="owed", amount=amount, currency=currency,
                           worker_key=worker, kind="back_pay", **kw)

    def pay(self, line_id, entry_id, amount, actor=SUPPLIER, currency="THB"):
        return self.record(actor, entry_id=entry_id, type="paid", amount=amount, currency=currency, line_id=line_id)

    def deliver(self):
        """The broker's part: each ledger event to both consumers, twice (redelivery)."""
        for event in self.relay.published:
            event = parse_event(LEDGER_ENTRY_RECORDED, event)
            for _ in range(2):
                remedy.audit_on_case(self.cases, event)
                remedy.count_entry(self.totals, event)
        self.relay.published.clear()

    def ledger(self, actor=STAFF):
        return remedy.get_ledger(self.lines, self.cases, cmd(), actor)


@pytest.fixture
def world():
    return World()


def test_amounts_are_exact_decimals_and_stored_as_strings(world):
    line = world.owe("e1", "0.1")
    line = world.owe("e2", "0.2")
    assert line["owed"] == "0.3" and Decimal(line["owed"]) == Decimal("0.3")
    line = world.pay(line["line_id"], "p1", "0.3")
    assert (line["paid"], line["balance"]) == ("0.3", "0.0")
    stored = world.lines.repo.docs[line["line_id"]]
    assert all(isinstance(stored[k], str) for k in ("owed", "paid"))
    assert all(isinstance(e["amount"], str) for e in stored["entries"])


def test_amounts_respect_the_currency_s_minor_units_and_iso_codes():
    assert money("1500", "JPY") == Decimal(1500)
    assert money("1.250", "BHD") == Decimal("1.250")
    for text, currency, field in (("10.5", "JPY", "amount"), ("1.001", "THB", "amount"), ("0", "THB", "amount"),
                                  ("-5", "THB", "amount"), ("1", "ABC", "currency"), ("1", "XXX", "currency")):
        with pytest.raises(InvalidInput) as exc:
            money(text, currency)
        assert field in exc.value.errors, (text, currency)
    with pytest.raises(InvalidInput) as exc:
        load(contract.LedgerEntry, cmd(entry_id="e1", type="owed", amount=0.1, currency="THB", worker_key=WORKER_A,
                                       kind="back_pay"))
    assert "amount" in exc.value.errors           # a JSON number is refused: floats never enter


def test_currencies_are_never_mixed(world):
    thb = world.owe("e1", "100.00")
    usd = world.owe("e2", "10.00", currency="USD")
    assert thb["line_id"] != usd["line_id"]
    with pytest.raises(InvalidInput) as exc:
        world.pay(thb["line_id"], "p1", "10.00", currency="USD")
    assert "currency" in exc.value.errors
    assert world.ledger()["totals"] == {
        "THB": {"owed": "100.00", "paid": "0", "balance": "100.00", "lines": 1},
        "USD": {"owed": "10.00", "paid": "0", "balance": "10.00", "lines": 1}}


def test_a_payment_never_exceeds_what_is_owed_until_a_correction_raises_it(world):
    line_id = world.owe("e1", "1000.00")["line_id"]
    world.pay(line_id, "p1", "600.00")
    with pytest.raises(InvalidTransition, match=r"amount: a payment of 500.00 THB exceeds the 400.00 THB still owed"):
        world.pay(line_id, "p2", "500.00")
    with pytest.raises(InvalidInput) as exc:          # a correction states its reason
        load(contract.LedgerEntry, cmd(entry_id="c1", type="correction", amount="100", currency="THB",
                                       line_id=line_id))
    assert "reason" in exc.value.errors
    with pytest.raises(Forbidden):
        world.record(SUPPLIER, entry_id="c1", type="correction", amount="100.00", currency="THB", line_id=line_id,
                     reason="we owe more")
    world.record(STAFF, entry_id="c1", type="correction", amount="100.00", currency="THB", line_id=line_id,
                 reason="overtime of June was missed")
    line = world.pay(line_id, "p2", "500.00")
    assert (line["owed"], line["paid"], line["balance"]) == ("1100.00", "1100.00", "0.00")
    with pytest.raises(InvalidTransition, match="would leave"):
        world.record(STAFF, entry_id="c2", type="correction", amount="-1.00", currency="THB", line_id=line_id,
                     reason="owed lowered below what was paid")


def test_a_retry_changes_nothing_and_a_reused_entry_id_is_refused(world):
    line_id = world.owe("e1", "50.00")["line_id"]
    world.pay(line_id, "p1", "20.00")
    writes = world.lines.repo.writes
    assert world.pay(line_id, "p1", "20.00")["paid"] == "20.00"
    assert world.owe("e1", "50.00")["owed"] == "50.00"
    assert world.lines.repo.writes == writes
    with pytest.raises(InvalidTransition, match="entry_id"):
        world.pay(line_id, "p1", "25.00")
    assert world.totals.get("SUP-1").view()["currencies"]["THB"] == {"owed": "50.00", "paid": "20.00",
                                                                      "balance": "30.00"}


def test_who_records_what(world):
    with pytest.raises(Forbidden):                     # what is owed: staff
        world.record(SUPPLIER, entry_id="e1", type="owed", amount="1", currency="THB", worker_key=WORKER_A,
                     kind="back_pay")
    line_id = world.owe("e1", "10.00")["line_id"]
    assert world.pay(line_id, "p1", "1.00", actor=STAFF)["paid"] == "1.00"    # staff may record a payment seen
    with pytest.raises(Forbidden):                     # another business: not its case
        world.pay(line_id, "p2", "1.00", actor=OTHER)
    with pytest.raises(Forbidden):
        remedy.get_ledger(world.lines, world.cases, cmd(), OTHER)
    with pytest.raises(Forbidden):
        remedy.ledger_totals(world.totals, {"business_ref": "SUP-1"}, OTHER)
    with pytest.raises(NotFound):
        world.pay("L" + "0" * 24, "p3", "1.00")
    with pytest.raises(InvalidInput) as exc:           # an action of the plan, of the same kind
        world.owe("e9", "1.00", action_id="P1-7")
    assert "action_id" in exc.value.errors
    assert world.owe("e10", "1.00", action_id="P1-1")["entries"][-1]["action_id"] == "P1-1"


def test_a_business_sees_lines_by_id_and_never_a_worker_key(world):
    a = world.owe("e1", "300.00")["line_id"]
    world.owe("e2", "200.00", worker=WORKER_B)
    world.pay(a, "p1", "100.00")
    business = world.ledger(SUPPLIER)
    assert WORKER_A not in str(business) and WORKER_B not in str(business) and "cw-1" not in str(business)
    assert "worker_key" not in str(business)
    assert {line["line_id"] for line in business["lines"]} >= {a}
    assert business["totals"]["THB"] == {"owed": "500.00", "paid": "100.00", "balance": "400.00", "lines": 2}
    assert {line["worker_key"] for line in world.ledger()["lines"]} == {WORKER_A, WORKER_B}
    assert WORKER_A not in str(handlers.get_case(world.cases, cmd(), SUPPLIER))


def test_entries_are_on_the_case_trail_once_and_counted_once_per_business(world):
    a = world.owe("e1", "300.00")["line_id"]
    world.owe("e2", "15.00", currency="USD", worker=WORKER_B)
    world.pay(a, "p1", "100.00")
    case = world.cases.get("ILM-1")
    trail = [e for e in case.audit if e["action"] == "ledger_entry"]
    assert [(e["detail"]["type"], e["detail"]["amount"], e["detail"]["line_id"] == a) for e in trail] == [
        ("owed", "300.00", True), ("owed", "15.00", False), ("paid", "100.00", True)]
    assert trail[-1]["actor"] == SUPPLIER
    assert WORKER_A not in str(case.audit) and WORKER_B not in str(trail)
    totals = remedy.ledger_totals(world.totals, {"business_ref": "SUP-1"}, SUPPLIER)
    assert totals == {"business_ref": "SUP-1", "currencies": {
        "THB": {"owed": "300.00", "paid": "100.00", "balance": "200.00"},
        "USD": {"owed": "15.00", "paid": "0", "balance": "15.00"}}}
    assert remedy.ledger_totals(world.totals, {"business_ref": "SUP-9"}, STAFF)["currencies"] == {}


def test_no_ledger_before_the_case_is_referred():
    world = World()
    world.cases.repo.docs["ILM-1"]["business_ref"] = None
    with pytest.raises(InvalidTransition, match="not referred"):
        world.owe("e1", "1.00")
