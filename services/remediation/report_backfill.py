"""Report tables for cases stored before the tables existed (or bulk-loaded): each case
without its ``ReportedCase`` gets one built from the stored case and its ledger lines,
created with the ``report.counts_changed`` it raises, in one write, so the counts take
its share through the same event and deduplication as every other change. The
outbox sweep of the running service relays those events; nothing is counted twice:
a case whose ``ReportedCase`` exists (its events came first) is skipped, and one
created by an event meanwhile makes the create fail and is skipped too.

What a stored case cannot say is counted as ``unknown``: the country of origin and
the destination sector were facts of the grievance event only.

    python -m services.remediation.report_backfill      # ops: prints how many were made
"""
from __future__ import annotations

from decimal import Decimal

from services.remediation.report_tables import UNSCOPED, ReportCounts, ReportedCase
from services.remediation.reports import STAGES
from shared.logging import get_logger

log = get_logger(__name__)
BATCH = 500


def reported_from_case(doc: dict, ledger_lines: list[dict] = ()) -> ReportedCase:
    """What the case contributes now, as if its events had been projected; the
    contribution is raised as its ``report.counts_changed`` (from nothing)."""
    case = ReportedCase(doc["_id"], known=True, work_area=doc["work_area"],
                        indicators=sorted(doc.get("forced_labour_indicators") or []),
                        month=doc["opened_at"][:7], day=doc["opened_at"][:10],
                        referred=doc.get("business_ref") is not None, stage=STAGES[doc["status"]],
                        scope=doc.get("business_ref") or doc.get("supplier_ref") or UNSCOPED,
                        case_version=doc.get("version", 0),
                        lines={line["_id"]: {"currency": line["currency"], "paid": str(line.get("paid", "0"))}
                               for line in ledger_lines})
    case._recount()
    return case


def backfill(cases_repo, reported, ledger_repo, batch: int = BATCH) -> dict:
    """Every stored case without its ReportedCase gets one (``reported``: a UnitOfWork)."""
    made = skipped = 0
    after = None
    while True:
        docs, after = cases_repo.page({}, batch, after)
        have = reported.repo.existing([d["_id"] for d in docs])
        for doc in docs:
            if doc["_id"] in have or not reported.create(doc["_id"], reported_from_case(
                    doc, ledger_repo.of_case(doc["_id"]))):
                skipped += 1
            else:
                made += 1
        if after is None:
            break
    log.info("report_tables_backfilled", made=made, skipped=skipped)
    return {"made": made, "skipped": skipped}


def counts_by_scope(weighted) -> dict[str, ReportCounts]:
    """The counts of many cases at once, without their ReportedCase documents (a bulk
    load's shortcut: the bench's). ``weighted``: (case document, how many cases like
    it); ledger lines not included."""
    counts: dict[str, ReportCounts] = {}
    for doc, uses in weighted:
        for _, data in reported_from_case(doc).raised:
            cells = {t: {r: {c: n * uses for c, n in cols.items()} for r, cols in rows.items()}
                     for t, rows in data["cells"].items()}
            paid = {currency: str(Decimal(amount) * uses) for currency, amount in data["paid"].items()}
            counts.setdefault(data["scope"], ReportCounts(data["scope"])).apply({"cells": cells, "paid": paid})
    return counts


def main() -> None:        # pragma: no cover - an ops entry point around backfill()
    from services.remediation.store import CaseStore, LedgerStore, ReportedCaseStore
    from shared.repository import database
    from shared.unit_of_work import standalone

    db = database("remediation")
    result = backfill(CaseStore(db), standalone(ReportedCaseStore(db), ReportedCase), LedgerStore(db))
    print(f"report tables: {result['made']} cases added, {result['skipped']} had theirs already")


if __name__ == "__main__":
    main()
