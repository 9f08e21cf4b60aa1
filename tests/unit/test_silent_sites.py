"""Silent sites (services/remediation/silence.py) on compressed time: a site that sent
enough grievances in a month and falls silent raises voice_suppression.suspected
once per silence, on its supplier's record; one that never reported enough, or
keeps reporting, does not; a redelivered grievance counts once."""
import copy
from datetime import datetime, timedelta, timezone

from services.remediation import handlers, silence
from services.remediation.reports import BusinessRecord
from services.remediation.silence import SiteActivity
from shared.contracts.events import GRIEVANCE_RECEIVED, VOICE_SUPPRESSION_REPORTED, iso, make_event
from tests.fakes import FakeRelay, FakeRepository, unit_of_work

T0 = datetime(2026, 2, 2, 8, 0, tzinfo=timezone.utc)
RULES = {"min_monthly": 3, "days": 0.5 / 86400}      # half a second of silence
SILENCE = timedelta(seconds=0.5)


class FakeSiteStore(FakeRepository):
    def silent_since(self, cutoff_iso, limit):
        return sorted(ref for ref, d in self.docs.items() if d["watch_from"] is not None and d["watch_from"] <= cutoff_iso)

    def suspected(self, limit, after):
        return [copy.deepcopy(d) for d in self.docs.values() if d["silences"] > 0][:limit], None


def grievance(site, at, supplier="SUP-1"):
    return make_event(GRIEVANCE_RECEIVED, "ILM-X", {
        "worker_key": "wk_" + "a" * 32, "channel": "sms", "language": "th", "work_area": "working_conditions",
        "forced_labour_indicators": [], "severity": "normal", "retaliation": False, "supplier_ref": supplier,
        "site_ref": site, "agency_ref": None, "received_at": iso(at)}, "c")


def test_a_site_that_falls_silent_is_flagged_once_per_silence_on_its_suppliers_record():
    relay = FakeRelay()
    sites = unit_of_work(SiteActivity, repo=FakeSiteStore(), relay=relay)
    records = unit_of_work(BusinessRecord)
    busy = [grievance("SITE-A", T0 + timedelta(seconds=i)) for i in range(3)]
    for event in busy + busy:                        # every one redelivered: counted once
        silence.count_grievance(sites, event, RULES)
    silence.count_grievance(sites, grievance("SITE-B", T0), RULES)       # never reported enough
    silence.count_grievance(sites, grievance(None, T0), RULES)           # no site: nothing kept
    last = T0 + timedelta(seconds=2)
    assert sites.get("SITE-A").months == {"2026-02": 3} and set(sites.repo.docs) == {"SITE-A", "SITE-B"}

    assert silence.sweep(sites, last + SILENCE - timedelta(milliseconds=1), RULES) == []   # not silent long enough
    assert silence.sweep(sites, last + SILENCE, RULES) == ["SITE-A"]
    assert silence.sweep(sites, last + 10 * SILENCE, RULES) == []                          # once per silence
    suspected = [e for e in relay.published if e["event_type"] == "voice_suppression.suspected"]
    assert len(suspected) == 1 and suspected[0]["case_ref"] == "SITE-A"
    assert suspected[0]["data"] == {
        "site_ref": "SITE-A", "supplier_ref": "SUP-1", "business_ref": "SUP-1", "busiest_month": "2026-02",
        "busiest_month_count": 3, "last_grievance_at": iso(last), "silent_days": round(0.5 / 86400, 4),
        "suspected_at": iso(last + SILENCE)}

    for _ in range(2):                               # on the business's record, once
        handlers.project_business_record(records, suspected[0], BusinessRecord.apply_silence)
    assert records.get("SUP-1").scorecard()["voice_suppression_suspected"] == 1

    # It speaks again, then falls silent again: a second silence, a second flag.
    again = last + timedelta(days=3)
    silence.count_grievance(sites, grievance("SITE-A", again), RULES)
    assert silence.sweep(sites, again + SILENCE / 2, RULES) == []
    assert silence.sweep(sites, again + SILENCE, RULES) == ["SITE-A"]
    listed = silence.list_suspected(sites, {"limit": 50, "after": None})["items"]
    assert [s["site_ref"] for s in listed] == ["SITE-A"] and len(listed[0]["suspected"]) == 2
    assert "worker_key" not in str(listed) and "wk_" not in str(relay.published)


def test_an_explicit_report_of_suppressed_voice_goes_on_the_suppliers_record():
    records = unit_of_work(BusinessRecord)
    report = make_event(VOICE_SUPPRESSION_REPORTED, "ILM-1", {
        "alert_id": "A1", "raised_from": "grievance", "work_area": None, "supplier_ref": "SUP-1", "site_ref": None,
        "reported_at": iso(T0)}, "c")
    silence.record_voice_report(records, report)
    silence.record_voice_report(records, report)
    assert records.get("SUP-1").scorecard()["voice_suppression_reported"] == 1


def test_partners_of_the_sites_chain_get_it_by_webhook_and_businesses_never():
    from services.notifications.domain import Subscription, payload_for, plan_deliveries
    event = make_event(silence.VOICE_SUPPRESSION_SUSPECTED, "SITE-A", {
        "site_ref": "SITE-A", "supplier_ref": "SUP-1", "business_ref": "SUP-1", "busiest_month": "2026-02",
        "busiest_month_count": 3, "last_grievance_at": iso(T0), "silent_days": 31.0, "suspected_at": iso(T0)}, "c")
    assert set(payload_for(event)["data"]) == set(event["data"]) | {"case_ref"}
    subs = [Subscription(subscription_id=sid, partner_id=who, audience=audience, url="https://x.example/h",
                         event_types=[event["event_type"]], sealed_secret="sealed:s", created_at=iso(T0))
            for sid, who, audience in (("s1", "BRAND-1", "partner"), ("s2", "BRAND-2", "partner"),
                                       ("s3", "SUP-1", "business"))]
    planned = plan_deliveries(subs, event, T0, 15, False, {"BRAND-1": frozenset({"SUP-1", "SITE-A"}),
                                                           "BRAND-2": frozenset({"SUP-9"})})
    assert [sub.subscription_id for _, sub in planned] == ["s1"]


def test_the_settings_are_checked_at_start():
    import pytest
    from shared.errors import ConfigError
    from shared.variables import silent_sites
    values = {"SILENT_SITE_MIN_MONTHLY": "5", "SILENT_SITE_DAYS": "0.25"}
    assert silent_sites(values.get) == {"min_monthly": 5, "days": 0.25}
    for bad in ({"SILENT_SITE_MIN_MONTHLY": "many"}, {"SILENT_SITE_DAYS": "0"}, {"SILENT_SITE_MIN_MONTHLY": "0"}):
        with pytest.raises(ConfigError, match="SILENT_SITE"):
            silent_sites({**values, **bad}.get)
