"""The organization credit page, ``/organizations/<id>/credit/``: who sees it (members, financiers, regulators,
platform staff; 404 for another trading organization), what it shows (the latest score with every factor's
reason, the profile, a score-history chart with one point per score row in its table), and its link from the score badge."""

from __future__ import annotations

import re

import pytest

from finance_portal.organizations.models import KycStatus
from finance_portal.organizations.services import organization_create
from finance_portal.organizations.validators import make_credit_code
from sme_credit.models import CreditScore
from sme_credit.services import credit_refresh
from tests.bills.factories import accepted, listed
from tests.conftest import login

pytestmark = pytest.mark.django_db


def page(world, org_key: str) -> str:  # type: ignore[no-untyped-def]
    return f"/organizations/{world.org(org_key).pk}/credit/"


def history_chart(html: str) -> str:
    """The score history's figure: its canvas (drawn by static/js/charts.js) and its table."""
    m = re.search(r'<figure class="data-chart data-chart-organization-score".*?</figure>', html, flags=re.S)
    assert m is not None
    return m.group(0)


INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)")


@pytest.fixture
def scored(world):  # type: ignore[no-untyped-def]
    """The supplier with two scores: 602 after one accepted bill, 604 after a second."""
    accepted(world)
    credit_refresh(organization=world.org("supplier"))
    accepted(world)
    credit_refresh(organization=world.org("supplier"))
    return world


@pytest.mark.parametrize("username", ["supplier", "financier", "financier2", "regulator", "admin"])
def test_members_financiers_regulators_and_staff_see_the_page(scored, client, username):
    login(client, username)
    response = client.get(page(scored, "supplier"))
    assert response.status_code == 200
    assert scored.org("supplier").legal_name in response.content.decode()


@pytest.mark.parametrize("username", ["supplier2", "buyer"])
def test_another_trading_organization_gets_404(scored, client, username):
    login(client, username)
    assert client.get(page(scored, "supplier")).status_code == 404


def test_an_unknown_organization_is_404_like_one_out_of_reach(world, client):
    login(client, "regulator")
    assert client.get("/organizations/999999/credit/").status_code == 404


def test_signed_out_visitors_go_to_the_login_page(scored, client):
    response = client.get(page(scored, "supplier"))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_the_latest_score_shows_every_factor_as_a_reason(scored, client):
    login(client, "financier")
    html = client.get(page(scored, "supplier")).content.decode()
    latest = CreditScore.objects.filter(organization=scored.org("supplier")).first()
    assert latest is not None and latest.score == 604
    assert "Score 604" in html
    for factor in latest.factors:
        assert f'data-factor="{factor["factor"]}"' in html
    assert "2 bills drawn or owed on the platform: +4" in html
    assert '<span class="points up">+4</span>' in html
    assert not INLINE_SCRIPT.search(html)


def test_the_history_chart_has_one_point_per_score(scored, client):
    login(client, "supplier")
    html = client.get(page(scored, "supplier")).content.decode()
    chart = history_chart(html)
    scores = list(CreditScore.objects.filter(organization=scored.org("supplier")).order_by("computed_at", "id"))
    assert len(scores) == 2
    assert re.findall(r'<td class="num">(\d+)</td></tr>', chart) == [str(s.score) for s in scores]
    assert '<canvas data-chart-url="/charts/data/organization-score/?org=' in chart and 'role="img"' in chart


def test_the_profile_figures_are_shown(scored, client):
    login(client, "regulator")
    html = client.get(page(scored, "supplier")).content.decode()
    assert re.search(r"<dt>Bills drawn or owed</dt><dd>2</dd>", html)
    assert re.search(r'<td class="num">2</td><td class="num">20,000.00 CNY</td>', html)  # this quarter's volume
    assert "No profile yet" not in html


def test_an_organization_without_a_score_says_so(world, client):
    login(client, "supplier")
    html = client.get(page(world, "supplier")).content.decode()
    assert "No credit score yet" in html and "No score yet." in html and "No profile yet" in html


def test_an_organization_name_is_escaped_in_the_page_and_its_chart(world, client):
    org = organization_create(legal_name='<script>alert("x")</script> Parts Ltd', kinds=["supplier"],
                              credit_code=make_credit_code("91440300MA5F00777"), kyc_status=KycStatus.APPROVED)
    credit_refresh(organization=org)
    login(client, "regulator")
    response = client.get(f"/organizations/{org.pk}/credit/")
    html = response.content.decode()
    assert response.status_code == 200
    assert "<script>" not in html and not INLINE_SCRIPT.search(html)
    assert "Credit score history of &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; Parts Ltd" in history_chart(html)


def test_the_score_badge_links_to_the_page(scored, client):
    credit_refresh(organization=scored.org("buyer"))
    listed(scored)
    login(client, "financier")
    html = client.get("/marketplace/").content.decode()
    assert f'href="/organizations/{scored.org("supplier").pk}/credit/"' in html
    assert f'href="/organizations/{scored.org("buyer").pk}/credit/"' in html
