"""Credit reports: issued, anchored through the outbox by a real worker on Anvil, verified by the standalone
verifier; who may read a report; and the scores financiers see on the marketplace."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import rfc8785
from django.test import Client
from rest_framework.test import APIClient

from chain_adapter.hashing import ZERO_HASH, record_key
from chain_adapter.models import AnchorRecord, AnchorStatus
from chain_adapter.verify_report import check_report_offline
from sme_credit.models import CreditReport
from sme_credit.reports import report_bundle
from sme_credit.services import credit_refresh, credit_report_issue
from tests.bills.factories import accepted, listed
from tests.chain_adapter.helpers import wait_for
from tests.conftest import ROOT


def api(world, username: str | None) -> APIClient:  # type: ignore[no-untyped-def]
    client = APIClient()
    if username:
        client.force_login(world.user(username))
    return client


def issue(world, *, by: str = "supplier", to: str = "financier"):  # type: ignore[no-untyped-def]
    return api(world, by).post("/api/v1/credit-reports/", {"recipient": world.org(to).credit_code}, format="json")


def run_verifier(path, rpc: str) -> subprocess.CompletedProcess[str]:  # type: ignore[no-untyped-def]
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)}  # no Django settings: the verifier needs none
    return subprocess.run([sys.executable, "-m", "chain_adapter.verify", str(path), "--rpc", rpc],
                          capture_output=True, text=True, env=env, timeout=60)


# ---------------------------------------------------------------------------------------------------------
# Issue, anchor, verify
# ---------------------------------------------------------------------------------------------------------


@pytest.mark.chain
@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_an_issued_report_is_anchored_and_verifies_and_an_edited_copy_fails_naming_the_field(
        world, anchor_contract, celery_worker_process, anvil, tmp_path):
    accepted(world)
    response = issue(world)
    assert response.status_code == 201, response.content
    report = CreditReport.objects.get(pk=response.json()["id"])
    assert report.report_key == record_key(f"report:{report.pk}")
    assert report.anchor.prev_hash == ZERO_HASH and report.anchor.key == report.report_key
    assert wait_for(lambda: AnchorRecord.objects.get(pk=report.anchor_id).status == AnchorStatus.CONFIRMED,
                    timeout=90, interval=0.2)

    got = api(world, "financier").get(f"/api/v1/credit-reports/{report.pk}/bundle/")
    assert got.status_code == 200, got.content
    bundle = got.json()
    assert bundle["kind"] == "credit_report" and bundle["version"] == 1 and bundle["report_id"] == report.pk
    assert bundle["chain_id"] == 31337 and bundle["contract"] == anchor_contract.address
    assert bundle["tx_hash"] and bundle["block"]
    content = json.loads(bundle["canonical"])
    assert content["organization"]["credit_code"] == world.org("supplier").credit_code
    assert content["recipient"]["credit_code"] == world.org("financier").credit_code
    assert content["score"]["score"] == 602 and content["profile"]["bills_count"] == 1

    path = tmp_path / "report.json"
    path.write_text(json.dumps(bundle))
    ok = run_verifier(path, anvil.url)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "Result: VERIFIED" in ok.stdout

    content["score"]["score"] = 802  # an edited copy, re-serialized in canonical form
    bundle["canonical"] = rfc8785.dumps(content).decode()
    path.write_text(json.dumps(bundle))
    bad = run_verifier(path, anvil.url)
    assert bad.returncode == 1, bad.stdout + bad.stderr
    assert "canonical text does not match its hash" in bad.stdout
    assert "field score.score: the text says 802, the bundle's report says 602" in bad.stdout, bad.stdout

    page = Client()
    page.force_login(world.user("financier"))
    shown = page.get(f"/verify/credit/{report.pk}/")
    assert shown.status_code == 200
    assert 'data-verdict="verified"' in shown.content.decode()


def test_an_edited_readable_report_is_named_against_the_anchored_text(world):
    report = credit_report_issue(actor=world.user("supplier"), recipient=world.org("financier").credit_code)
    bundle = report_bundle(report)
    # No contract is deployed in this test: that is the only problem of the untouched bundle.
    assert [p for p in check_report_offline(bundle).problems if not p.startswith("contract:")] == []
    bundle["report"]["recipient"]["credit_code"] = world.org("financier2").credit_code
    problems = check_report_offline(bundle).problems
    assert any(p.startswith("report.recipient.credit_code: the bundle's report says") for p in problems), problems


def test_a_bundle_under_another_reports_key_fails_naming_the_key(world):
    report = credit_report_issue(actor=world.user("supplier"), recipient=world.org("financier").credit_code)
    bundle = report_bundle(report)
    bundle["report_id"] = report.pk + 1
    problems = check_report_offline(bundle).problems
    assert any(p.startswith("report_key:") for p in problems), problems
    assert any(p.startswith("report: the text is report") for p in problems), problems


# ---------------------------------------------------------------------------------------------------------
# Refusals and visibility
# ---------------------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_report_to_oneself_or_to_an_unknown_code_is_refused(world):
    assert issue(world, to="supplier").status_code == 400
    bad = api(world, "supplier").post("/api/v1/credit-reports/", {"recipient": "nope"}, format="json")
    assert bad.status_code == 400 and CreditReport.objects.count() == 0


@pytest.mark.django_db
def test_a_regulator_issues_no_report(world):
    assert issue(world, by="regulator", to="financier").status_code == 403


@pytest.mark.django_db
@pytest.mark.parametrize(("username", "status"), [
    ("supplier", 200), ("financier", 200), ("regulator", 200), ("admin", 200),
    ("financier2", 404), ("supplier2", 404), ("buyer", 404),
])
def test_the_bundle_and_the_page_follow_visibility(world, username, status):
    report_id = issue(world).json()["id"]
    assert api(world, username).get(f"/api/v1/credit-reports/{report_id}/bundle/").status_code == status
    page = Client()
    page.force_login(world.user(username))
    assert page.get(f"/verify/credit/{report_id}/").status_code == status


@pytest.mark.django_db
def test_anonymous_readers_get_nothing(world):
    report_id = issue(world).json()["id"]
    assert api(world, None).get(f"/api/v1/credit-reports/{report_id}/bundle/").status_code in (401, 403)
    assert Client().get(f"/verify/credit/{report_id}/").status_code == 302


@pytest.mark.django_db
def test_an_unknown_report_is_404(world):
    assert api(world, "regulator").get("/api/v1/credit-reports/999999/bundle/").status_code == 404
    assert api(world, "regulator").get("/api/v1/credit-reports/x/bundle/").status_code == 404


# ---------------------------------------------------------------------------------------------------------
# Scores on the marketplace
# ---------------------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_marketplace_and_the_listing_show_financiers_both_parties_scores(world):
    bill = listed(world)  # the supplier lists what it drew: it is the seller
    assert bill.holder_id == bill.creditor_id
    debtor = credit_refresh(organization=bill.debtor)
    supplier = credit_refresh(organization=bill.creditor)
    page = Client()
    page.force_login(world.user("financier"))
    for url in ("/marketplace/", f"/marketplace/{bill.pk}/"):
        html = page.get(url).content.decode()
        assert f'data-org="{bill.debtor_id}"><span class="badge"' in html, url
        assert f"score {debtor.score}" in html and f"score {supplier.score}" in html, url
        assert "1 bill drawn or owed on the platform: +2" in html, url


@pytest.mark.django_db
def test_suppliers_see_no_marketplace_and_so_no_scores(world):
    listed(world)
    page = Client()
    page.force_login(world.user("supplier2"))
    response = page.get("/marketplace/")
    assert response.status_code == 403 and "credit-score" not in response.content.decode()
