"""The report tables through the gateway, on the real processes: grievances become
counts by events alone; a partner reads its own supply chain's tables and downloads
one as XLSX, and its chain's scorecards as CSV; the public tables download as CSV
and name no business; a supplier may not read a partner's view."""
import csv
import io

import pytest
from openpyxl import load_workbook

from scripts.parties import link_partner
from tests.integration.conftest import eventually
from tests.integration.helpers import key_for, post_grievance, report, unique
from tests.principals import ADMIN

pytestmark = pytest.mark.integration
CASES = 11      # above REPORT_SUPPRESS_BELOW (10): the chain's table is released


def test_partner_and_public_tables_and_their_files(stack, actors, staff):
    supplier, brand_ref = unique("SUP"), unique("BRAND")
    link_partner(actors(ADMIN), brand_ref, supplier)
    for _ in range(CASES):
        assert post_grievance(stack, report(supplier)).status_code == 201
    brand = key_for(staff, stack, brand_ref, "partner")

    def chain_counted():
        view = brand.ok("GET", "/v1/reports/partner")
        return view if view["tables"]["work_area"].get("total") == CASES else None
    view = eventually(chain_counted, timeout=30)
    assert view["tables"]["work_area"]["rows"]["working_conditions"]["open"] == CASES

    download = brand.call("GET", "/v1/reports/export", params={"view": "partner", "format": "xlsx"})
    assert download.status_code == 200 and download.headers["Content-Type"].startswith("application/vnd.openxml")
    assert 'filename="partner-work_area.xlsx"' in download.headers["Content-Disposition"]
    rows = {r[0]: r[1:] for r in load_workbook(io.BytesIO(download.content))["work_area"].iter_rows(values_only=True)}
    assert rows["working_conditions"][0] == CASES

    staff["case_worker"].ok("POST", "/v1/reports/tables/refresh", {})
    public = brand.call("GET", "/v1/reports/export", params={"table": "work_area"})
    assert public.status_code == 200 and public.headers["Content-Type"].startswith("text/csv")
    table = list(csv.reader(io.StringIO(public.text)))
    assert table[0][0] == "work area" and int(table[-1][-1]) >= CASES and supplier not in public.text
    compared = brand.call("GET", "/v1/reports/export", params={"view": "scorecards"})
    cards = list(csv.DictReader(io.StringIO(compared.text)))
    assert compared.status_code == 200 and [c["business_ref"] for c in cards] == [supplier]
    assert cards[0]["open_up_to_7_days"] == "0"          # referred to nobody yet: no business's open cases
    assert key_for(staff, stack, supplier, "supplier").call("GET", "/v1/reports/partner").status_code == 403
