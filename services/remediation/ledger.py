"""The remedy ledger (issue 11): money owed to and paid to each affected worker of a
case (recruitment-fee repayment, back pay). Pure: callers pass ``now``.

- A **line** is one worker's money of one kind in one currency on one case. Its id is
  ``L`` + 24 hex digits of SHA-256(case, worker key, kind, currency): stable, so a
  retried "owed" finds its line, and opaque: a business pays against the line id and
  never sees the (staff-only) worker key.
- Amounts are ``Decimal``, stored and sent as strings, never floats; each amount has
  at most the minor units of its ISO 4217 currency (CLDR data via babel: JPY 0, THB 2,
  BHD 3). A line never mixes currencies.
- Entries: ``owed`` (staff: what the plan's repayment actions or a visit established),
  ``paid`` (the business the case is referred to, or staff), ``correction`` (staff, a
  signed change of what is owed or paid, with a reason). A payment never exceeds what
  is still owed on its line: refused (409) naming the amounts; a correction raising
  what is owed must come first. Nothing takes paid below 0 or above owed.
- ``entry_id`` is the caller's idempotency key, per line: the same entry again changes
  nothing; the same id with other content is refused.
- Each entry raises ``ledger.entry_recorded`` (no worker key) in the line's write; its
  consumers put it on the case's trail and add it to the business's running totals
  (``LedgerTotals``, one document per business: reading totals never scans entries).
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation

from babel.numbers import get_currency_precision, list_currencies

from shared.contracts.events import LEDGER_ENTRY_RECORDED, iso
from shared.domain import Aggregate
from shared.errors import Forbidden, InvalidInput, InvalidTransition

_STAFF = frozenset({"case_worker", "safeguarding_lead"})
_BUSINESS = frozenset({"supplier", "agency"})
# ISO 4217 codes for testing and "no currency" are not money.
CURRENCIES = frozenset(list_currencies()) - {"XXX", "XTS"}
ZERO = Decimal(0)


def line_id_for(case_ref: str, worker_key: str, kind: str, currency: str) -> str:
    return "L" + hashlib.sha256(f"{case_ref}|{worker_key}|{kind}|{currency}".encode()).hexdigest()[:24]


def money(text: str, currency: str, *, signed: bool = False) -> Decimal:
    """An exact amount in ``currency``: InvalidInput naming the field otherwise."""
    if currency not in CURRENCIES:
        raise InvalidInput({"currency": [f"{currency} is not an ISO 4217 currency"]})
    try:
        amount = Decimal(text)
    except (InvalidOperation, TypeError, ValueError):
        raise InvalidInput({"amount": ["a decimal amount as a string"]}) from None
    if not amount.is_finite() or amount == 0 or (amount < 0 and not signed):
        raise InvalidInput({"amount": ["must be " + ("non-zero" if signed else "more than 0")]})
    places = get_currency_precision(currency)
    if -amount.as_tuple().exponent > places:
        raise InvalidInput({"amount": [f"{currency} has {places} decimal places, {text} has more"]})
    return amount


def _who(actor: dict) -> dict:
    return {"id": actor["id"], "role": actor["role"]}


@dataclass
class Line(Aggregate):
    line_id: str
    case_ref: str
    business_ref: str
    worker_key: str
    kind: str
    currency: str
    opened_at: str
    owed: str = "0"
    paid: str = "0"
    entries: list = field(default_factory=list)
    raised: list = field(default_factory=list, repr=False, compare=False)

    @classmethod
    def open(cls, case_ref: str, business_ref: str, worker_key: str, kind: str, currency: str,
             now: datetime) -> "Line":
        return cls(line_id=line_id_for(case_ref, worker_key, kind, currency), case_ref=case_ref,
                   business_ref=business_ref, worker_key=worker_key, kind=kind, currency=currency,
                   opened_at=iso(now))

    @property
    def balance(self) -> Decimal:
        return Decimal(self.owed) - Decimal(self.paid)

    def record(self, actor: dict, now: datetime, p: dict) -> dict:
        """``p``: the LedgerEntry payload. Returns the entry (the earlier one on a retry)."""
        self._check_role(actor, p["type"])
        if p["currency"] != self.currency:
            raise InvalidInput({"currency": [f"line {self.line_id} is in {self.currency}, not {p['currency']}"]})
        amount = money(p["amount"], self.currency, signed=p["type"] == "correction")
        applies_to = (p.get("applies_to") or "owed") if p["type"] == "correction" else p["type"]
        entry = {"entry_id": p["entry_id"], "type": p["type"], "amount": str(amount), "applies_to": applies_to,
                 "reason": p.get("reason"), "note": p.get("note"), "action_id": p.get("action_id")}
        earlier = next((e for e in self.entries if e["entry_id"] == p["entry_id"]), None)
        if earlier is not None:
            if {k: earlier.get(k) for k in entry} != entry:
                raise InvalidTransition(f"entry_id: {p['entry_id']} is already another entry on line {self.line_id}")
            return earlier
        owed, paid = Decimal(self.owed), Decimal(self.paid)
        new_owed, new_paid = (owed + amount, paid) if applies_to == "owed" else (owed, paid + amount)
        if p["type"] == "paid" and new_paid > owed:
            raise InvalidTransition(
                f"amount: a payment of {amount} {self.currency} exceeds the {owed - paid} {self.currency} still "
                f"owed on line {self.line_id}; a staff correction must raise what is owed first")
        if new_paid < ZERO or new_paid > new_owed:
            raise InvalidTransition(f"amount: a correction of {amount} {self.currency} would leave {new_paid} paid "
                                    f"against {new_owed} owed on line {self.line_id}")
        self.owed, self.paid = str(new_owed), str(new_paid)
        entry.update(by=_who(actor), at=iso(now))
        self.entries.append(entry)
        self.raised.append((LEDGER_ENTRY_RECORDED, {
            "case_ref": self.case_ref, "business_ref": self.business_ref, "line_id": self.line_id,
            "entry_id": entry["entry_id"], "type": entry["type"], "kind": self.kind, "currency": self.currency,
            "amount": entry["amount"], "owed_change": str(new_owed - owed), "paid_change": str(new_paid - paid),
            "actor": _who(actor), "recorded_at": entry["at"]}))
        return entry

    def _check_role(self, actor: dict, entry_type: str) -> None:
        role = actor["role"]
        if role in _STAFF:
            return
        if role in _BUSINESS and entry_type == "paid" and actor["id"] == self.business_ref:
            return
        raise Forbidden(f"{actor['id']} may not record {entry_type} entries on line {self.line_id}")

    def view_for(self, actor: dict) -> dict:
        view = {**self.to_dict(), "balance": str(self.balance)}
        if actor["role"] in _STAFF:
            return view
        view.pop("worker_key")
        view["entries"] = [{**e, "by": {"role": e["by"]["role"]}} if e["by"]["role"] in _STAFF else e
                           for e in self.entries]
        return view


def totals_of(lines: list[dict]) -> dict:
    """{currency: {owed, paid, balance, lines}} over line views (one case's)."""
    sums: dict = {}
    for line in lines:
        t = sums.setdefault(line["currency"], {"owed": ZERO, "paid": ZERO, "lines": 0})
        t["owed"] += Decimal(line["owed"])
        t["paid"] += Decimal(line["paid"])
        t["lines"] += 1
    return {cur: {"owed": str(t["owed"]), "paid": str(t["paid"]), "balance": str(t["owed"] - t["paid"]),
                  "lines": t["lines"]} for cur, t in sorted(sums.items())}


@dataclass
class LedgerTotals(Aggregate):
    """Running totals of one business per currency, fed by ``ledger.entry_recorded``
    (each event once: the UnitOfWork's event idempotency)."""
    business_ref: str
    currencies: dict = field(default_factory=dict)    # currency -> {owed, paid} as strings
    raised: list = field(default_factory=list, repr=False, compare=False)

    def apply(self, data: dict) -> None:
        t = self.currencies.setdefault(data["currency"], {"owed": "0", "paid": "0"})
        t["owed"] = str(Decimal(t["owed"]) + Decimal(data["owed_change"]))
        t["paid"] = str(Decimal(t["paid"]) + Decimal(data["paid_change"]))

    def view(self) -> dict:
        return {"business_ref": self.business_ref, "currencies": {
            cur: {**t, "balance": str(Decimal(t["owed"]) - Decimal(t["paid"]))}
            for cur, t in sorted(self.currencies.items())}}


def audit_entry(case, data: dict) -> None:
    """The entry on the case's trail: amounts and the line id, never the worker key."""
    detail = {k: data[k] for k in ("line_id", "entry_id", "type", "kind", "currency", "amount",
                                   "owed_change", "paid_change")}
    at = datetime.fromisoformat(data["recorded_at"].replace("Z", "+00:00"))
    case._audit(data["actor"], at, "ledger_entry", case.status, case.status, detail)
