"""Use cases of the report tables (report_tables.py): the projection fed by events,
and the released public and partner views. Callers pass the clock and the
disclosure settings (``{"threshold", "width"}``, REPORT_* settings)."""
from __future__ import annotations

import hashlib
import json
from datetime import datetime

from services.remediation.domain import STAFF
from services.remediation.report_tables import ReportCounts, ReportedCase, release, total_of
from shared.contracts.common import PARTNER_ROLES
from shared.contracts.events import iso
from shared.errors import Forbidden, InvalidInput, InvalidTransition
from shared.logging import get_logger

log = get_logger(__name__)


# --- the projection (each event once: the UnitOfWork dedupes by event id) -------------

def project_grievance(reported, event: dict):
    return _project(reported, event["case_ref"], event, lambda c: c.apply_grievance(event["data"]))


def project_status(reported, event: dict):
    return _project(reported, event["case_ref"], event, lambda c: c.apply_status(event["data"]))


def project_ledger(reported, event: dict):
    return _project(reported, event["data"]["case_ref"], event, lambda c: c.apply_ledger(event["data"]))


def count(counts, event: dict):
    scope = event["data"]["scope"]
    return counts.change_or_create(scope, lambda c: c.apply(event["data"]), lambda: ReportCounts(scope),
                                   event=event).aggregate


def _project(reported, case_ref: str, event: dict, apply):
    return reported.change_or_create(case_ref, apply, lambda: ReportedCase(case_ref), event=event).aggregate


# --- the views ------------------------------------------------------------------------

def refresh_public_tables(counts, now: datetime, disclosure: dict) -> dict:
    """Add up every scope's counts (a document per business, not per case), release
    each table through disclosure control and store the result for readers."""
    tables = release(total_of(counts.repo.of_scopes()), computed_at=iso(now), **disclosure)
    refused = {name: t["reason"] for name, t in tables["tables"].items() if not t["released"]}
    if refused:
        log.warning("report_tables_refused", tables=sorted(refused))
    counts.repo.save_tables(tables)
    return tables


def public_tables(counts, now: datetime, disclosure: dict) -> dict:
    """Anyone authenticated: the last released tables (refreshed on a timer)."""
    return counts.repo.latest_tables() or refresh_public_tables(counts, now, disclosure)


def public_report(counts, now: datetime, disclosure: dict) -> dict:
    """Cases by work area and stage, with every total: the released ``work_area``
    table in the public report's shape (served from the last released tables, never
    a scan of cases). A table the proof refused is a 409 with its reason."""
    return as_public_report(public_tables(counts, now, disclosure))


def refresh_public_report(counts, now: datetime, disclosure: dict) -> dict:
    return as_public_report(refresh_public_tables(counts, now, disclosure))


def as_public_report(tables: dict) -> dict:
    table = tables["tables"]["work_area"]
    if not table["released"]:
        raise InvalidTransition(f"the public report was not released: {table['reason']}")
    return {"computed_at": tables["computed_at"], "suppressed_below": tables["suppressed_below"],
            "protection_width": tables["protection_width"], "by_work_area": table["rows"],
            "by_stage": table["column_totals"], "total_cases": table["total"], "suppressed": table["suppressed"]}


def partner_tables(counts, parties, p: dict, actor: dict, now: datetime, disclosure: dict) -> dict:
    """The same tables over one partner's supply chain (the party registry's chain,
    never self-declared): a partner sees its own; staff name the partner. Released
    through the same disclosure control; no business is named."""
    partner_ref = partner_of(actor, p)
    party = parties.get(partner_ref)
    chain = party.chain_refs() if party is not None and party.kind == "partner" else frozenset()
    total = total_of(counts.repo.of_scopes(list(chain)))
    # The proof's linear programs cost ~250 ms on a table with many hidden figures:
    # released once per state of the chain's counts and settings, then read back.
    fingerprint = hashlib.sha256(json.dumps([sorted(chain), total.cells, total.paid, disclosure],
                                            sort_keys=True).encode()).hexdigest()
    cached = counts.repo.partner_release(partner_ref)
    if cached is not None and cached["fingerprint"] == fingerprint:
        return cached["tables"]
    tables = {"partner_ref": partner_ref, "businesses_in_chain": len(chain),
              **release(total, computed_at=iso(now), **disclosure)}
    counts.repo.save_partner_release(partner_ref, fingerprint, tables)
    return tables


def partner_of(actor: dict, p: dict) -> str:
    if actor["role"] in PARTNER_ROLES:
        if p.get("partner_ref") not in (None, actor["id"]):
            raise Forbidden(f"{actor['id']} may see only its own supply chain's figures")
        return actor["id"]
    if actor["role"] in STAFF:
        if not p.get("partner_ref"):
            raise InvalidInput({"partner_ref": ["staff name the partner whose supply chain to report"]})
        return p["partner_ref"]
    raise Forbidden(f"role {actor['role']} may not see a partner's figures")
