"""Business engagement (issue 15): a supplier's or agency's scorecard with its open
cases by age, and the scorecards of every business in a partner's supply chain side
by side. Callers pass the clock. The counters are the running BusinessRecord
(reports.py); the ages are counted from the business's own open cases by their
indexed ``business_ref`` (a business's open cases, never every case)."""
from __future__ import annotations

from datetime import datetime, timedelta

from services.remediation import reports
from services.remediation.report_views import _partner_of
from services.remediation.reports import BusinessRecord
from shared.contracts.events import iso

# Upper edges (days since the grievance was received) of the open-case age buckets.
AGE_BUCKETS = ((7, "up_to_7_days"), (30, "8_to_30_days"), (90, "31_to_90_days"), (None, "over_90_days"))


def age_ranges(now: datetime) -> list[tuple[str, str | None, str | None]]:
    """(label, opened after, opened at or before) per bucket, newest first."""
    ranges, newer = [], None
    for days, label in AGE_BUCKETS:
        older = iso(now - timedelta(days=days)) if days is not None else None
        ranges.append((label, older, newer))
        newer = older
    return ranges


def open_cases_by_age(cases_repo, business_ref: str, now: datetime) -> dict:
    return {label: cases_repo.count_open_opened_between(business_ref, after, until)
            for label, after, until in age_ranges(now)}


def scorecard(records, cases_repo, business_ref: str, now: datetime) -> dict:
    card = (records.get(business_ref) or BusinessRecord(business_ref)).scorecard()
    return {**card, "open_cases_by_age": open_cases_by_age(cases_repo, business_ref, now)}


def supplier_scorecard(records, cases_repo, p: dict, actor: dict, now: datetime, chain=frozenset()) -> dict:
    reports.check_scorecard_access(actor, p["business_ref"], chain)
    return scorecard(records, cases_repo, p["business_ref"], now)


def chain_scorecards(records, cases_repo, parties, p: dict, actor: dict, now: datetime) -> dict:
    """Every supplier and agency in one partner's chain (the registry's), comparable:
    the partner's own, or the named partner's for staff. Sites are not scored (a case
    is referred to a supplier or an agency)."""
    partner_ref = _partner_of(actor, p)
    party = parties.get(partner_ref)
    chain = party.chain if party is not None and party.kind == "partner" else {}
    refs = sorted(set(chain.get("suppliers", ())) | set(chain.get("agencies", ())))
    return {"partner_ref": partner_ref, "computed_at": iso(now),
            "items": [{"business_type": "agency" if ref in chain.get("agencies", ()) else "supplier",
                       **scorecard(records, cases_repo, ref, now)} for ref in refs]}
