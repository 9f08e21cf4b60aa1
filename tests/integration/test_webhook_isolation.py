"""The measured stall of issue 14 on the running services: an endpoint dripping a byte
every 2 s used to hold the alert lane's workers, delaying alerts to everybody. Now
alerts to another endpoint arrive as if the dripping one were not there."""
import time

import pytest

from scripts.drip_server import DripServer
from scripts.parties import link_partner
from tests.integration.helpers import post_grievance, report, unique
from tests.principals import ADMIN, partner

pytestmark = pytest.mark.integration
ALERTS = 6          # more than the lane's ALERT_MAX_WORKERS (4)


def test_a_dripping_endpoint_delays_no_alert_to_another(stack, actors, receiver):
    supplier, path = unique("SUP"), f"/isolated/{unique('p')}"
    drip = DripServer(every=2.0)
    try:
        for brand in ("BRAND-DRIP", "BRAND-HEALTHY"):
            link_partner(actors(ADMIN), brand, supplier)
        actors(partner("BRAND-DRIP")).notifications.register_webhook({
            "url": drip.url, "event_types": ["retaliation.reported"]})
        actors(partner("BRAND-HEALTHY")).notifications.register_webhook({
            "url": receiver.url(path), "event_types": ["retaliation.reported"]})
        accepted = {}
        for n in range(ALERTS):
            response = post_grievance(stack, report(
                supplier, work_area="employer_employee_relations", retaliation=True,
                text=f"The manager said number {n} of us will lose the job for complaining."))
            assert response.status_code == 201, response.text
            accepted[response.json()["case_ref"]] = time.monotonic()

        def arrived(got):
            refs = {h.json["data"]["case_ref"] for h in got} & set(accepted)
            return refs if len(refs) == ALERTS else None
        got = receiver.wait(path, arrived, timeout=60)
        first = {}
        for h in got:
            first.setdefault(h.json["data"]["case_ref"], h.at)
        latencies = sorted(first[ref] - accepted[ref] for ref in accepted)
        print(f"{ALERTS} alerts beside an endpoint dripping every 2 s: to the healthy endpoint in "
              f"{', '.join(f'{1000 * s:.0f}' for s in latencies)} ms; dripping endpoint got {drip.requests} requests")
        assert drip.requests >= 1                           # it was tried, and held its requests
        assert latencies[-1] < 2.5, "an alert waited behind the dripping endpoint"
    finally:
        drip.close()
