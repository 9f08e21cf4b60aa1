"""Report tables built from events (issue 15 "Anonymised aggregates"). Pure: no I/O.

Two aggregates, so that reading a table never scans cases:

- ``ReportedCase``, one per case: what the case contributes to the tables now (its
  work area, ILO indicators, month received, outcome stage, and the remedy paid on
  its ledger lines), fed by ``grievance.received``, ``case.status_changed`` (the
  highest ``case_version`` wins, so reordering is harmless) and
  ``ledger.entry_recorded``. When its contribution changes it raises
  ``report.counts_changed`` with the difference, in the same write.
- ``ReportCounts``, one per scope (the business the case is referred to, else its
  supplier, else ``*``): the running sums of those differences. The public tables
  add up every scope's counts (a document per business, not per case); a partner's
  add up its supply chain's.

Both are fed at least once and deduplicated by event id (the UnitOfWork), so a
redelivered event changes nothing. Tables are released only through
disclosure.protect (``release``); a refused table is reported with its reason.

Country of origin and destination sector are optional at intake: a case without
them counts under ``unknown``.

Decisions: a case counts once per table, except the indicator table, where a case
counts under each indicator it carries (``none``: no indicator), so that table's
total is the number of (case, indicator) mentions. "Workers reached by remedy" is
the number of ledger lines (one worker, one kind, one currency) with money paid: a
worker repaid both a fee and back pay counts twice. The money paid per currency is
published only with its count of workers, and hidden whenever that count is.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from services.remediation.disclosure import DisclosureRefused, protect
from services.remediation.reports import PUBLIC_STAGES, STAGES
from shared.contracts.common import FORCED_LABOUR_INDICATORS, SECTORS, WORK_AREAS
from shared.contracts.events import REPORT_COUNTS_CHANGED
from shared.domain import Aggregate

UNSCOPED = "*"           # cases not referred to a business and naming no supplier
NO_INDICATOR = "none"
UNKNOWN = "unknown"
OPEN_BY_DAY = "open_by_day"   # not a published table: engagement.py reads a business's own      # origin country or sector not given at intake (optional fields)
WORKERS = "workers"
# name -> (what its rows are, its columns); rows of "month" and "remedy_paid" are the
# ones present in the counts.
TABLES = {
    "work_area": ("work area", PUBLIC_STAGES),
    "indicator": ("ILO forced-labour indicator", PUBLIC_STAGES),
    "month": ("month received", PUBLIC_STAGES),
    "origin_country": ("country of origin", PUBLIC_STAGES),
    "sector": ("destination sector", PUBLIC_STAGES),
    "remedy_paid": ("currency", (WORKERS,)),
}
FIXED_ROWS = {"work_area": WORK_AREAS, "indicator": FORCED_LABOUR_INDICATORS + (NO_INDICATOR,),
              "sector": SECTORS + (UNKNOWN,)}


def _add(into: dict, cells: dict, sign: int = 1) -> None:
    """Add nested counts {table: {row: {col: n}}} into ``into``, dropping zeros."""
    for table, rows in cells.items():
        for row, cols in rows.items():
            for col, n in cols.items():
                target = into.setdefault(table, {}).setdefault(row, {})
                target[col] = target.get(col, 0) + sign * n
                if not target[col]:
                    del target[col]
                if not target:
                    del into[table][row]
            if not into.get(table):
                into.pop(table, None)


def _add_money(into: dict, paid: dict, sign: int = 1) -> None:
    for currency, amount in paid.items():
        total = Decimal(into.get(currency, "0")) + sign * Decimal(amount)
        if total:
            into[currency] = str(total)
        else:
            into.pop(currency, None)


@dataclass
class ReportedCase(Aggregate):
    case_ref: str
    known: bool = False                 # grievance.received applied: its facts are here
    work_area: str | None = None
    indicators: list = field(default_factory=list)
    month: str | None = None
    day: str | None = None              # received (the age of an open case, engagement.py)
    referred: bool = False
    origin_country: str | None = None
    sector: str | None = None
    stage: str = "open"
    scope: str = UNSCOPED
    case_version: int = 0               # the last case.status_changed applied
    lines: dict = field(default_factory=dict)     # ledger line id -> {currency, paid}
    counted: dict = field(default_factory=lambda: {"scope": UNSCOPED, "cells": {}, "paid": {}})
    raised: list = field(default_factory=list, repr=False, compare=False)

    def apply_grievance(self, data: dict) -> None:
        self.known = True
        self.indicators = sorted(data["forced_labour_indicators"])
        self.month, self.day = data["received_at"][:7], data["received_at"][:10]
        self.origin_country, self.sector = data.get("origin_country"), data.get("sector")
        if not self.case_version:       # a status change (triage) may have corrected them
            self.work_area = data["work_area"]
            self.scope = data["supplier_ref"] or UNSCOPED
        self._recount()

    def apply_status(self, data: dict) -> None:
        if data["case_version"] <= self.case_version:
            return                      # an older change arriving late
        self.case_version = data["case_version"]
        self.stage = STAGES[data["to_status"]]
        self.work_area = data["work_area"]
        self.scope = data["business_ref"] or data["supplier_ref"] or UNSCOPED
        self.referred = data["business_ref"] is not None
        self._recount()

    def apply_ledger(self, data: dict) -> None:
        line = self.lines.setdefault(data["line_id"], {"currency": data["currency"], "paid": "0"})
        line["paid"] = str(Decimal(line["paid"]) + Decimal(data["paid_change"]))
        self._recount()

    def contribution(self) -> dict:
        """The cells and money this case adds to its scope's counts now."""
        if not self.known:
            return {"scope": self.scope, "cells": {}, "paid": {}}
        one = {self.stage: 1}
        cells = {"work_area": {self.work_area: dict(one)}, "month": {self.month: dict(one)},
                 "indicator": {i: dict(one) for i in self.indicators or [NO_INDICATOR]},
                 "origin_country": {self.origin_country or UNKNOWN: dict(one)},
                 "sector": {self.sector or UNKNOWN: dict(one)}}
        paid, workers = {}, {}
        for line in self.lines.values():
            if Decimal(line["paid"]) > 0:
                _add_money(paid, {line["currency"]: line["paid"]})
                workers[line["currency"]] = {WORKERS: workers.get(line["currency"], {}).get(WORKERS, 0) + 1}
        if workers:
            cells["remedy_paid"] = workers
        if self.stage == "open" and self.referred:      # the business's open cases by day received:
            cells[OPEN_BY_DAY] = {self.day: dict(one)}   # its scorecard's ages, never published
        return {"scope": self.scope, "cells": cells, "paid": paid}

    def _recount(self) -> None:
        new, old = self.contribution(), self.counted
        if new == old:
            return
        if new["scope"] == old["scope"]:
            cells, paid = {}, {}
            _add(cells, new["cells"])
            _add(cells, old["cells"], -1)
            _add_money(paid, new["paid"])
            _add_money(paid, old["paid"], -1)
            self._raise(new["scope"], cells, paid)
        else:                           # referred elsewhere: out of one scope, into the other
            cells, paid = {}, {}
            _add(cells, old["cells"], -1)
            _add_money(paid, old["paid"], -1)
            self._raise(old["scope"], cells, paid)
            self._raise(new["scope"], new["cells"], new["paid"])
        self.counted = new

    def _raise(self, scope: str, cells: dict, paid: dict) -> None:
        if cells or paid:
            self.raised.append((REPORT_COUNTS_CHANGED, {"scope": scope, "cells": cells, "paid": paid}))


@dataclass
class ReportCounts(Aggregate):
    """The running counts of one scope (a business, a supplier, or ``*``)."""
    scope: str
    cells: dict = field(default_factory=dict)     # table -> row -> col -> count
    paid: dict = field(default_factory=dict)      # currency -> amount paid (decimal string)
    raised: list = field(default_factory=list, repr=False, compare=False)

    def apply(self, data: dict) -> None:
        _add(self.cells, data["cells"])
        _add_money(self.paid, data["paid"])


def total_of(counts: list[dict]) -> ReportCounts:
    """The sum of stored ReportCounts documents (every scope, or a partner's chain)."""
    total = ReportCounts("sum")
    for doc in counts:
        total.apply(doc)
    return total


def release(counts: ReportCounts, threshold: int, width: float, computed_at: str) -> dict:
    """Every table through disclosure.protect: released, or refused with the reason."""
    tables = {}
    for name, (rows_are, cols) in TABLES.items():
        table = counts.cells.get(name, {})
        rows = list(FIXED_ROWS.get(name) or sorted(table))
        try:
            released = protect(table, rows, list(cols), threshold, width)
        except DisclosureRefused as refused:
            tables[name] = {"rows_are": rows_are, "released": False, "reason": refused.reason}
            continue
        tables[name] = {"rows_are": rows_are, "released": True, "columns": list(cols),
                        "rows": {r: {**released.cells[r], "total": released.row_totals[r]} for r in rows},
                        "column_totals": released.col_totals, "total": released.grand_total,
                        "suppressed": len(released.ranges)}
        if name == "remedy_paid":       # an amount is shown only beside its count of workers
            tables[name]["amounts_paid"] = {r: (counts.paid.get(r, "0") if released.cells[r][WORKERS] is not None
                                                else None) for r in rows}
    return {"computed_at": computed_at, "suppressed_below": threshold, "protection_width": width, "tables": tables}
