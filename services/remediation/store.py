"""Remediation's store adapters: the only code that knows its collections."""
from services.remediation.domain import DEADLINE_INDEX, OPEN_STATES
from shared.repository import Repository


class BusinessRecordStore(Repository):
    """Scorecard counters, one document per supplier or agency."""
    service = "remediation"
    collection_name = "business_records"


class PartyStore(Repository):
    """The party registry: one document per party, its outgoing links on it. No index
    on the link arrays: nx-27017 answers equality on an indexed array with nothing."""
    service = "remediation"
    collection_name = "parties"

    def ensure_indexes(self):
        super().ensure_indexes()
        self.col.create_index("kind")

    def linked_to(self, supplier_refs: list[str]) -> list[dict]:
        """The sites and agencies linked to any of these suppliers."""
        return list(self.col.find({"$or": [{"links.site_of": {"$in": supplier_refs}},
                                           {"links.recruits_for": {"$in": supplier_refs}}]}))

    def partners_sourcing_from(self, supplier_refs: list[str]) -> list[str]:
        return [d["_id"] for d in self.col.find({"kind": "partner", "links.sources_from": {"$in": supplier_refs}},
                                                {"_id": 1})]


class AlertStore(Repository):
    """Safeguarding records, one document per retaliation alert (id: the alert id)."""
    service = "remediation"
    collection_name = "safeguarding_alerts"

    def ensure_indexes(self):
        super().ensure_indexes()
        self.col.create_index("case_ref")
        self.col.create_index("queue_key", unique=True)
        self.col.create_index("backup_due_at")

    def backup_due(self, now_iso: str, limit: int) -> list[str]:
        """Alerts whose acknowledgement time has passed (cleared once told or acknowledged)."""
        docs = self.col.find({"backup_due_at": {"$lte": now_iso}}, {"_id": 1})
        return [d["_id"] for d in docs.sort("backup_due_at", 1).limit(limit)]

    def of_case(self, case_ref: str) -> list[dict]:
        return list(self.col.find({"case_ref": case_ref}))

    def open_queue(self, limit: int, after: str | None) -> tuple[list[dict], str | None]:
        """Open alerts, oldest first (``queue_key`` starts with the report's time)."""
        return self.page({"status": "open"}, limit, after, key="queue_key")


class CaseStore(Repository):
    service = "remediation"
    collection_name = "cases"   # plural: nx-27017 cannot name a collection "case"

    def ensure_indexes(self):
        super().ensure_indexes()
        for field in ("status", "business_ref", "supplier_ref", "work_area", "next_escalation_at", "assignee",
                      "severity", "next_due_at", "updated_at"):
            self.col.create_index(field)

    def count_open_by_status(self) -> dict[str, int]:
        counts = self.count_by("status")
        return {status: counts.get(status, 0) for status in sorted(OPEN_STATES)}

    def count_overdue(self, now_iso: str) -> dict[str, int]:
        """Open cases past their earliest deadline not met, by that deadline's name: an
        index range on ``next_due_at`` (the nested deadline fields took 2.7 s at 113,000
        cases on nx-27017, every 15 s)."""
        counts = self.count_by("next_due_deadline", {"next_due_at": {"$lt": now_iso}})
        return {name: counts.get(name, 0) for name in DEADLINE_INDEX}

    def escalations_due(self, now_iso: str, limit: int) -> list[str]:
        """Cases whose next deadline escalation has come (services/remediation/escalation.py)."""
        docs = self.col.find({"next_escalation_at": {"$lte": now_iso}}, {"_id": 1})
        return [d["_id"] for d in docs.sort("next_escalation_at", 1).limit(limit)]

    def unscheduled(self, limit: int) -> list[str]:
        """Cases written before escalation or the list keys existed (case_list.py): by
        ``updated_at``, never null once written (nx-27017's ``$exists: False`` also
        matches a null field)."""
        docs = self.col.find({"updated_at": {"$exists": False}}, {"_id": 1})
        return [d["_id"] for d in docs.limit(limit)]

    def due_by(self, horizon_iso: str, assignee: str | None, limit: int) -> list[dict]:
        """Open cases with a deadline not yet met due by the horizon, soonest first."""
        query = {"next_due_at": {"$lte": horizon_iso}, **({"assignee": assignee} if assignee else {})}
        return list(self.col.find(query).sort("next_due_at", 1).limit(limit))

    def overdue_of_business(self, business_ref: str, now_iso: str, limit: int,
                            after: str | None) -> tuple[list[dict], str | None]:
        """A page of the business's open cases past a deadline not met yet: their earliest
        one not met (``next_due_at``, indexed, null once closed) is in the past."""
        return self.page({"business_ref": business_ref, "next_due_at": {"$lt": now_iso}}, limit, after)

    def count_escalated(self) -> dict[int, int]:
        """Open cases by the escalation level their current deadlines reached (1 to 3)."""
        counts = self.count_by("escalation_level", {"status": {"$in": sorted(OPEN_STATES)}})
        return {level: counts.get(level, 0) for level in (1, 2, 3)}

    def cases_of_business(self, business_ref: str) -> list[dict]:
        """For rebuilding a business record from its cases (a full read: backfills only)."""
        return list(self.col.find({"business_ref": business_ref},
                                  {"status": 1, "deadlines": 1, "deadline_history": 1, "validation_rounds": 1}))



class LedgerStore(Repository):
    """The remedy ledger, one document per line (services/remediation/ledger.py), apart
    from the case so the case stays small. Id: the line id."""
    service = "remediation"
    collection_name = "ledger_lines"

    def ensure_indexes(self):
        super().ensure_indexes()
        self.col.create_index("case_ref")

    def of_case(self, case_ref: str) -> list[dict]:
        return list(self.col.find({"case_ref": case_ref}).sort("opened_at", 1))


class LedgerTotalsStore(Repository):
    """Running ledger totals, one document per business (per currency inside)."""
    service = "remediation"
    collection_name = "ledger_totals"


class AccessLogStore(Repository):
    """Who viewed or revealed a case (services/remediation/access_log.py): one document
    per access, inserted only; ids sort by case, then time."""
    service = "remediation"
    collection_name = "case_access_log"

    def ensure_indexes(self):
        super().ensure_indexes()
        self.col.create_index("case_ref")


class ReportedCaseStore(Repository):
    """What each case contributes to the report tables (report_tables.ReportedCase)."""
    service = "remediation"
    collection_name = "report_cases"

    def existing(self, refs: list[str]) -> set[str]:
        return {d["_id"] for d in self.col.find({"_id": {"$in": sorted(refs)}}, {"_id": 1})}


class ReportCountsStore(Repository):
    """Running report counts, one document per scope (report_tables.ReportCounts), and
    the released public tables: reading them never scans cases."""
    service = "remediation"
    collection_name = "report_counts"

    def __init__(self, db):
        super().__init__(db)
        self.released = db["public_reports"]

    def of_scopes(self, scopes: list[str] | None = None) -> list[dict]:
        """Every scope's counts (None), or these scopes' (a partner's chain)."""
        query = {} if scopes is None else {"_id": {"$in": sorted(scopes)}}
        return list(self.col.find(query, {"cells": 1, "paid": 1}))

    def save_tables(self, tables: dict) -> None:
        self.released.replace_one({"_id": "tables"}, {"_id": "tables", **tables}, upsert=True)

    def latest_tables(self) -> dict | None:
        doc = self.released.find_one({"_id": "tables"})
        return {k: v for k, v in doc.items() if k != "_id"} if doc else None

    def partner_release(self, partner_ref: str) -> dict | None:
        """The partner's last released tables with the fingerprint of what they were built from."""
        return self.released.find_one({"_id": "partner:" + partner_ref})

    def save_partner_release(self, partner_ref: str, fingerprint: str, tables: dict) -> None:
        self.released.replace_one({"_id": "partner:" + partner_ref},
                                  {"_id": "partner:" + partner_ref, "fingerprint": fingerprint, "tables": tables},
                                  upsert=True)


class SiteActivityStore(Repository):
    """Per-site monthly grievance counts (silence.py), one document per site."""
    service = "remediation"
    collection_name = "site_activity"

    def ensure_indexes(self):
        super().ensure_indexes()
        self.col.create_index("watch_from")
        self.col.create_index("silences")

    def silent_since(self, cutoff_iso: str, limit: int) -> list[str]:
        """Sites watched whose last grievance is at or before the cutoff (null never matches)."""
        docs = self.col.find({"watch_from": {"$lte": cutoff_iso}}, {"_id": 1})
        return [d["_id"] for d in docs.sort("watch_from", 1).limit(limit)]

    def suspected(self, limit: int, after: str | None) -> tuple[list[dict], str | None]:
        return self.page({"silences": {"$gt": 0}}, limit, after)


class SavedViewStore(Repository):
    """Staff's saved case-list views (saved_views.py); id: owner/name."""
    service = "remediation"
    collection_name = "saved_views"

    def ensure_indexes(self):
        super().ensure_indexes()
        self.col.create_index("owner")

    def of_owner(self, owner: str) -> list[dict]:
        return list(self.col.find({"owner": owner}))

    def remove(self, doc_id: str) -> None:
        self.col.delete_one({"_id": doc_id})
