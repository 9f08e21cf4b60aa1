"""Silent sites (issue 15, DOMAIN.md "sudden silence from a site that used to
report"): a site that sent at least SILENT_SITE_MIN_MONTHLY grievances in some
calendar month and then none for SILENT_SITE_DAYS raises
``voice_suppression.suspected``, once per silence: for case workers (the list
``silent_sites``) and the business's record (its supplier's scorecard), never in
any public report.

``SiteActivity`` (one per site, pure) counts the site's grievances per month from
``grievance.received`` (each event once: the UnitOfWork dedupes by event id) and
keeps ``watch_from``: its last grievance's time while it has reported enough and
its current silence is not flagged yet, else None. It is indexed, so the sweep reads
only the sites silent long enough. The sweep claims each by its revision-guarded
write, which clears ``watch_from`` and holds the event in the same write (the outbox): of two
replicas the loser reloads, finds it flagged, writes nothing. A new grievance from
the site ends the silence and starts watching again.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from shared.contracts.common import page_of
from shared.contracts.events import VOICE_SUPPRESSION_SUSPECTED, iso
from shared.domain import Aggregate
from shared.errors import ConcurrentUpdate
from shared.logging import get_logger

log = get_logger(__name__)
SWEEP_BATCH = 100


def _parse(moment: str) -> datetime:
    return datetime.fromisoformat(moment.replace("Z", "+00:00"))


@dataclass
class SiteActivity(Aggregate):
    site_ref: str
    supplier_ref: str | None = None
    months: dict = field(default_factory=dict)      # "YYYY-MM" -> grievances received
    last_received_at: str | None = None
    watch_from: str | None = None                   # last_received_at while its silence is watched
    silences: int = 0
    suspected: list = field(default_factory=list)   # the silences flagged: {last_grievance_at, suspected_at}
    raised: list = field(default_factory=list, repr=False, compare=False)

    def received(self, data: dict, min_monthly: int) -> None:
        month = data["received_at"][:7]
        self.months[month] = self.months.get(month, 0) + 1
        self.supplier_ref = data["supplier_ref"] or self.supplier_ref
        if self.last_received_at is None or data["received_at"] > self.last_received_at:
            self.last_received_at = data["received_at"]
            # A new grievance ends a silence; a site that reported enough is watched again.
            self.watch_from = self.last_received_at if max(self.months.values()) >= min_monthly else None

    def check_silence(self, now: datetime, days: float) -> bool:
        """Flag the current silence if it has lasted ``days``; once per silence."""
        if self.watch_from is None or now - _parse(self.watch_from) < timedelta(days=days):
            return False
        busiest = max(self.months, key=lambda m: (self.months[m], m))
        self.watch_from, self.silences = None, self.silences + 1
        self.suspected.append({"last_grievance_at": self.last_received_at, "suspected_at": iso(now)})
        self.raised.append((VOICE_SUPPRESSION_SUSPECTED, {
            "site_ref": self.site_ref, "supplier_ref": self.supplier_ref, "business_ref": self.supplier_ref,
            "busiest_month": busiest, "busiest_month_count": self.months[busiest],
            "last_grievance_at": self.last_received_at,
            "silent_days": round((now - _parse(self.last_received_at)).total_seconds() / 86400, 4),
            "suspected_at": iso(now)}))
        return True

    def view(self) -> dict:
        return {"site_ref": self.site_ref, "supplier_ref": self.supplier_ref, "months": dict(sorted(self.months.items())),
                "last_received_at": self.last_received_at, "watched": self.watch_from is not None,
                "suspected": list(self.suspected)}


# --- use cases ---------------------------------------------------------------------

def count_grievance(sites, event: dict, rules: dict):
    site = event["data"]["site_ref"]
    if site is None:
        return None
    return sites.change_or_create(site, lambda s: s.received(event["data"], rules["min_monthly"]),
                                  lambda: SiteActivity(site), event=event).aggregate


def sweep(sites, now: datetime, rules: dict, limit: int = SWEEP_BATCH) -> list[str]:
    """The timer: sites watched and silent since the cutoff, each claimed by its write."""
    flagged = []
    for site in sites.repo.silent_since(iso(now - timedelta(days=rules["days"])), limit):
        try:
            changed = sites.change(site, lambda s: s.check_silence(now, rules["days"]), skip_unchanged=True)
        except ConcurrentUpdate:        # busy beyond the retries: the next sweep takes it
            continue
        if changed.result:
            flagged.append(site)
            log.warning("voice_suppression_suspected", site_ref=site)
    return flagged


def record_voice_report(records, event: dict):
    """Intake's explicit report of suppressed voice goes on its supplier's record too."""
    from services.remediation.reports import BusinessRecord
    ref = event["data"]["supplier_ref"]
    if ref is None:
        return None
    return records.change_or_create(ref, lambda r: r.apply_voice_report(event["data"]), lambda: BusinessRecord(ref),
                                    event=event).aggregate


def list_suspected(sites, p: dict) -> dict:
    """Staff: the sites whose silence was flagged, with their monthly counts."""
    docs, next_ref = sites.repo.suspected(p["limit"], p["after"])
    return page_of([SiteActivity.from_dict(d).view() for d in docs], next_ref)
