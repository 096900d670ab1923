"""The marketplace pages: a listing's due diligence per role, the buy confirmation, offers through the pages."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.utils.html import escape

from bills import clock, services
from bills.market_views import percent_text, rate_from_percent
from bills.models import BillPurchase, BillState
from bills.models_money import BillOffer, OfferStatus
from finance_portal.organizations.models import KycStatus
from finance_portal.organizations.services import member_create, organization_create
from finance_portal.organizations.validators import make_credit_code
from tests.bills.factories import accepted, drain, fund, listed, refresh

pytestmark = pytest.mark.django_db

NOON = dt.datetime(2026, 3, 2, 12, 0, tzinfo=dt.UTC)
NBSP = "\u00a0"


def as_user(client, world, name):  # type: ignore[no-untyped-def]
    client.force_login(world.user(name))
    return client


def html(response) -> str:  # type: ignore[no-untyped-def]
    return response.content.decode()


@pytest.fixture
def at_noon():  # type: ignore[no-untyped-def]
    """A fixed clock, so a bill maturing in 90 days is exactly 90 days away on every page."""
    with clock.travel_to(NOON):
        yield


# ---------------------------------------------------------------------------------------------------------
# Who sees the listing page
# ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["financier", "financier2"])
def test_financiers_see_debtor_seller_terms_invoices_transitions_and_anchoring(world, client, at_noon, name):
    bill = listed(world)
    text = html(response := as_user(client, world, name).get(f"/marketplace/{bill.pk}/"))
    assert response.status_code == 200
    debtor, seller = world.org("buyer"), world.org("supplier")
    for expected in (bill.number, escape(debtor.legal_name), debtor.credit_code, escape(seller.legal_name),
                     seller.credit_code,
                     "10,000.00 CNY", "2026-05-31", f"3.60{NBSP}%", "9,910.00 CNY", "90 days"):
        assert expected in text, expected
    invoice = bill.allocations.get().invoice
    assert invoice.invoice_number in text and "Verified" in text
    assert "Listed" in text and "Accepted by the debtor → Listed on the marketplace" in text
    assert re.search(r"\d+ of 4 events anchored", text)
    assert f'href="/marketplace/{bill.pk}/buy/"' in text
    assert f'href="/verify/{bill.pk}/"' in text  # the login-only page shows listings to financiers
    # the invoice files, for due diligence, through the listing (never the invoices app's own pages)
    assert f'href="/marketplace/{bill.pk}/invoices/{invoice.pk}/file/"' in text
    assert f'href="/invoices/{invoice.pk}/' not in text
    assert 'name="rate"' in text and 'name="expires_in_hours"' in text


@pytest.mark.parametrize("name", ["regulator", "admin"])
def test_oversight_reads_the_listing_without_buy_or_offer(world, client, name):
    bill = listed(world)
    text = html(response := as_user(client, world, name).get(f"/marketplace/{bill.pk}/"))
    assert response.status_code == 200 and bill.number in text
    assert f'href="/marketplace/{bill.pk}/buy/"' not in text and 'name="expires_in_hours"' not in text
    assert "cannot buy" in text
    invoice = bill.allocations.get().invoice
    assert f"/invoices/{invoice.pk}/file/" in text  # oversight may download through the invoices app


@pytest.mark.parametrize("name", ["supplier", "buyer", "supplier2"])
def test_suppliers_and_core_enterprises_are_refused_as_by_the_marketplace(world, client, name):
    bill = listed(world)
    as_user(client, world, name)
    assert client.get("/marketplace/").status_code == 403
    for url in (f"/marketplace/{bill.pk}/", f"/marketplace/{bill.pk}/buy/"):
        response = client.get(url)
        assert response.status_code == 403 and bill.number not in html(response)


def test_anonymous_users_are_sent_to_log_in(world, client):
    bill = listed(world)
    for url in (f"/marketplace/{bill.pk}/", f"/marketplace/{bill.pk}/buy/"):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    assert client.post(f"/marketplace/{bill.pk}/offers/", {"rate": "3"}).status_code == 302
    assert not BillOffer.objects.exists()


@pytest.mark.parametrize("name", ["financier", "regulator"])
def test_a_bill_that_is_not_listed_is_not_found(world, client, name):
    bill = accepted(world)
    as_user(client, world, name)
    assert client.get(f"/marketplace/{bill.pk}/").status_code == 404
    assert client.get(f"/marketplace/{bill.pk}/buy/").status_code == 404
    assert client.get("/marketplace/00000000-0000-0000-0000-000000000000/").status_code == 404


def third_financier(world):  # type: ignore[no-untyped-def]
    org = organization_create(legal_name="Pearl River Factoring Co., Ltd.",
                              credit_code=make_credit_code("91440300MA5F00311"), kinds=["financier"],
                              kyc_status=KycStatus.APPROVED)
    return member_create(organization=org, username="financier3", password="x-demo-12345").user


def test_no_earlier_holder_and_no_price_paid_reach_the_listing(world, client, at_noon):
    # supplier lists at 3.6 %; financier2 buys (9,910.00); transfers to supplier2, who signs and lists at 5 %.
    bill = listed(world, rate="0.036")
    first = services.bill_buy(bill_id=bill.pk, actor=world.user("financier2"))
    assert first.price == Decimal("9910.00")
    services.bill_transfer(bill_id=bill.pk, actor=world.user("financier2"), to=world.org("supplier2").credit_code)
    services.bill_receive(bill_id=bill.pk, actor=world.user("supplier2"))
    services.bill_list(bill_id=bill.pk, actor=world.user("supplier2"), rate="0.05")
    client.force_login(third_financier(world))
    text = html(response := client.get(f"/marketplace/{bill.pk}/"))
    assert response.status_code == 200
    assert escape(world.org("supplier2").legal_name) in text and world.org("supplier2").credit_code in text
    for absent in (escape(world.org("financier2").legal_name), world.org("financier2").credit_code,
                   escape(world.org("supplier").legal_name), world.org("supplier").credit_code,  # it held it first
                   "9,910.00", "9910.00", "0.036", "3.60"):
        assert absent not in text, absent
    assert "9,875.00 CNY" in text and f"5.00{NBSP}%" in text  # today's price at the new asking rate
    assert "Bought" in text and "Transfer offered" in text and "Transfer received" in text  # what, not who


def test_marketplace_rows_link_to_the_listing_and_the_confirmation(world, client):
    bill = listed(world)
    text = html(as_user(client, world, "financier").get("/marketplace/"))
    assert f'href="/marketplace/{bill.pk}/"' in text and f'href="/marketplace/{bill.pk}/buy/"' in text
    assert "10,000.00 CNY" in text and "3.60%" in text


# ---------------------------------------------------------------------------------------------------------
# Buying through the confirmation
# ---------------------------------------------------------------------------------------------------------


def test_the_confirmation_shows_the_worked_example(world, client, at_noon):
    bill = listed(world, "10000.00", rate="0.036")  # matures in 90 days
    response = as_user(client, world, "financier").get(f"/marketplace/{bill.pk}/buy/")
    text = html(response)
    assert response.status_code == 200
    assert re.search(r"Interest \(discount\)</th><td class=\"num\">90\.00 CNY", text)
    assert re.search(r"Price you pay</th><td class=\"num\">9,910\.00 CNY", text)
    assert re.search(r"Days to maturity · basis</th><td class=\"num\">90 · actual/360", text)
    assert f"3.63{NBSP}%" in text  # 90 / 9,910 × 360 / 90
    assert "1,000,000,000.00 CNY" in text and "999,990,090.00 CNY" in text  # cash now and after
    assert 'name="idempotency_key"' in text and "Buy for 9,910.00 CNY" in text
    assert not BillPurchase.objects.exists()  # looking buys nothing


def test_a_double_submit_with_one_key_buys_once(world, client, at_noon):
    bill = listed(world)
    as_user(client, world, "financier")
    key = client.get(f"/marketplace/{bill.pk}/buy/").context["idempotency_key"]
    assert key != client.get(f"/marketplace/{bill.pk}/buy/").context["idempotency_key"]  # one per rendered form
    form = {"rate": "3.6", "idempotency_key": key, "confirm": "yes"}  # the rate in percent, as the page sends it
    responses = [client.post(f"/marketplace/{bill.pk}/buy/", form) for _ in range(2)]
    assert [r.status_code for r in responses] == [302, 302]
    assert {r["Location"] for r in responses} == {f"/bills/{bill.pk}/"}
    assert BillPurchase.objects.filter(bill=bill).count() == 1
    assert refresh(bill).holder == world.org("financier")
    page = client.get(f"/bills/{bill.pk}/")
    assert "Bought: your organization now holds the bill" in html(page)


def test_insufficient_balance_says_so_and_offers_no_buy_button(world, client, at_noon):
    bill = listed(world)
    drain(world.org("financier"))
    fund(world.org("financier"), amount="5000.00")
    text = html(as_user(client, world, "financier").get(f"/marketplace/{bill.pk}/buy/"))
    assert "Insufficient balance" in text and "5,000.00 CNY" in text
    assert re.search(r"short by</th><td class=\"num late\">4,910\.00 CNY", text)
    assert 'name="idempotency_key"' not in text and "Buy for" not in text


def test_a_refusal_is_shown_as_an_error_on_the_confirmation(world, client, at_noon):
    bill = listed(world, rate="0.036")
    as_user(client, world, "financier")
    key = client.get(f"/marketplace/{bill.pk}/buy/").context["idempotency_key"]
    services.bill_unlist(bill_id=bill.pk, actor=world.user("supplier"))
    services.bill_list(bill_id=bill.pk, actor=world.user("supplier"), rate="0.04")
    response = client.post(f"/marketplace/{bill.pk}/buy/", {"rate": "3.6", "idempotency_key": key, "confirm": "yes"})
    text = html(response)
    assert response.status_code == 409
    assert 'class="notice error"' in text and f"changed to 4.00{NBSP}%" in text and "msg-success" not in text
    assert "Buy for 9,900.00 CNY" in text  # the page shows today's terms and a fresh form
    assert not BillPurchase.objects.exists()


def test_a_bill_sold_meanwhile_is_an_error_not_a_crash(world, client, at_noon):
    bill = listed(world)
    as_user(client, world, "financier")
    key = client.get(f"/marketplace/{bill.pk}/buy/").context["idempotency_key"]
    services.bill_buy(bill_id=bill.pk, actor=world.user("financier2"))
    response = client.post(f"/marketplace/{bill.pk}/buy/", {"rate": "3.6", "idempotency_key": key, "confirm": "yes"})
    assert response.status_code == 409 and "just been bought" in html(response)
    assert BillPurchase.objects.get().buyer == world.org("financier2")


def test_the_holder_may_not_buy_its_own_listing(world, client, at_noon):
    bill = listed(world)
    services.bill_buy(bill_id=bill.pk, actor=world.user("financier"))
    services.bill_transfer(bill_id=bill.pk, actor=world.user("financier"), to=world.org("financier2").credit_code)
    services.bill_receive(bill_id=bill.pk, actor=world.user("financier2"))
    services.bill_list(bill_id=bill.pk, actor=world.user("financier2"), rate="0.04")
    text = html(as_user(client, world, "financier2").get(f"/marketplace/{bill.pk}/buy/"))
    assert "its holder cannot buy it" in text and 'name="idempotency_key"' not in text


# ---------------------------------------------------------------------------------------------------------
# Offers
# ---------------------------------------------------------------------------------------------------------


def test_percentages_become_fractions_exactly():
    assert rate_from_percent(" 3.72 ") == "0.0372"
    assert rate_from_percent("4") == "0.04"
    assert rate_from_percent("3.7245") == "0.037245"
    assert rate_from_percent("٣") == "٣" and rate_from_percent("-1") == "-1"  # the service refuses these
    assert percent_text(Decimal("0.0385")) == f"3.85{NBSP}%"
    assert percent_text(Decimal("0.036000")) == f"3.60{NBSP}%"
    assert percent_text(Decimal("0.037245")) == f"3.7245{NBSP}%"


def test_a_financier_makes_sees_and_withdraws_its_offer(world, client, at_noon):
    bill = listed(world)
    as_user(client, world, "financier")
    response = client.post(f"/marketplace/{bill.pk}/offers/", {"rate": "3.72", "expires_in_hours": "48"})
    assert response.status_code == 302 and response["Location"] == f"/marketplace/{bill.pk}/"
    offer = BillOffer.objects.get()
    assert offer.rate == Decimal("0.0372") and offer.financier == world.org("financier")
    assert offer.expires_at == NOON + dt.timedelta(hours=48) or \
        abs(offer.expires_at - clock.now() - dt.timedelta(hours=48)) < dt.timedelta(minutes=1)
    text = html(client.get(f"/marketplace/{bill.pk}/"))
    assert f"3.72{NBSP}%" in text and "9,907.00 CNY" in text  # 10,000 × 3.72 % × 90 / 360 = 93.00
    assert f"/marketplace/offers/{offer.pk}/withdraw/" in text
    # Another financier sees neither the offer nor a way to withdraw it.
    other = html(as_user(client, world, "financier2").get(f"/marketplace/{bill.pk}/"))
    assert f"3.72{NBSP}%" not in other and "/withdraw/" not in other
    assert client.post(f"/marketplace/offers/{offer.pk}/withdraw/").status_code == 302
    assert refresh_offer(offer).status == OfferStatus.OPEN
    as_user(client, world, "financier")
    response = client.post(f"/marketplace/offers/{offer.pk}/withdraw/", {"next": f"/marketplace/{bill.pk}/"})
    assert response.status_code == 302 and response["Location"] == f"/marketplace/{bill.pk}/"
    assert refresh_offer(offer).status == OfferStatus.WITHDRAWN
    assert f"/marketplace/offers/{offer.pk}/withdraw/" not in html(client.get(f"/marketplace/{bill.pk}/"))


def refresh_offer(offer: BillOffer) -> BillOffer:
    return BillOffer.objects.get(pk=offer.pk)


def test_a_bad_offer_is_shown_on_the_listing_and_writes_nothing(world, client):
    bill = listed(world)
    as_user(client, world, "financier")
    response = client.post(f"/marketplace/{bill.pk}/offers/", {"rate": "150", "expires_in_hours": "72"})
    assert response.status_code == 400 and 'class="field-error" id="offer-rate-error"' in html(response)
    assert "a percentage above 0 and below 100" in html(response)  # beside the rate field, in percent
    assert 'value="150"' in html(response)  # the input is kept
    response = client.post(f"/marketplace/{bill.pk}/offers/", {"rate": "3.5", "expires_in_hours": "soon"})
    assert response.status_code == 400 and "whole hours" in html(response)
    response = client.post(f"/marketplace/{bill.pk}/offers/", {"rate": "3.5", "expires_in_hours": "2000"})
    assert response.status_code == 400 and "at most" in html(response)
    assert not BillOffer.objects.exists()


def test_the_holder_sees_offers_with_todays_price_and_accepts_one(world, client, at_noon):
    bill = listed(world)
    services.offer_make(bill_id=bill.pk, actor=world.user("financier"), rate="0.0372")
    services.offer_make(bill_id=bill.pk, actor=world.user("financier2"), rate="0.034")
    text = html(as_user(client, world, "supplier").get(f"/bills/{bill.pk}/"))
    assert "Offers" in text
    assert escape(world.org("financier").legal_name) in text and escape(world.org("financier2").legal_name) in text
    assert f"3.72{NBSP}%" in text and "9,907.00 CNY" in text and f"3.40{NBSP}%" in text and "9,915.00 CNY" in text
    best = BillOffer.objects.get(financier=world.org("financier2"))
    assert f"/bills/offers/{best.pk}/accept/" in text
    # The debtor sees the bill, not the offers on it.
    debtor_view = html(as_user(client, world, "buyer").get(f"/bills/{bill.pk}/"))
    assert f"/bills/offers/{best.pk}/accept/" not in debtor_view and f"3.40{NBSP}%" not in debtor_view
    assert client.post(f"/bills/offers/{best.pk}/accept/", {"confirm": "yes"}).status_code in (302, 404)
    assert refresh(bill).state == BillState.LISTED  # the debtor cannot accept
    response = as_user(client, world, "supplier").post(f"/bills/offers/{best.pk}/accept/",
                                                       {"next": f"/bills/{bill.pk}/", "confirm": "yes"})
    assert response.status_code == 302 and response["Location"] == f"/bills/{bill.pk}/"
    bill = refresh(bill)
    assert bill.state == BillState.FINANCED and bill.holder == world.org("financier2")
    purchase = BillPurchase.objects.get(bill=bill)
    assert purchase.offer == best and purchase.price == Decimal("9915.00")
    assert BillOffer.objects.get(financier=world.org("financier")).status == OfferStatus.LAPSED
    assert "Sold: the financier has paid the price" in html(client.get(f"/bills/{bill.pk}/"))


def test_the_holder_without_offers_is_told_so_and_others_see_no_section(world, client):
    bill = listed(world)
    assert "No open offers" in html(as_user(client, world, "supplier").get(f"/bills/{bill.pk}/"))
    assert "No open offers" not in html(as_user(client, world, "buyer").get(f"/bills/{bill.pk}/"))


@pytest.mark.parametrize("name", ["financier", "financier2", "regulator", "admin"])
def test_those_who_read_a_listing_download_the_invoices_behind_it(world, client, name):
    bill = listed(world)
    invoice = bill.allocations.get().invoice
    response = as_user(client, world, name).get(f"/marketplace/{bill.pk}/invoices/{invoice.pk}/file/")
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment;")
    assert b"".join(response.streaming_content).startswith(b"%PDF")


def test_a_financier_downloads_no_invoice_that_is_not_behind_the_listing(world, client):
    bill = listed(world)
    other = accepted(world)  # its invoice is not behind the listing
    foreign = other.allocations.get().invoice
    financier = as_user(client, world, "financier")
    assert financier.get(f"/marketplace/{bill.pk}/invoices/{foreign.pk}/file/").status_code == 404
    # and nothing of a bill once it is no longer listed
    own = bill.allocations.get().invoice
    services.bill_unlist(bill_id=bill.pk, actor=world.user("supplier"))
    assert financier.get(f"/marketplace/{bill.pk}/invoices/{own.pk}/file/").status_code == 404


@pytest.mark.parametrize("name", ["supplier2", "buyer2"])
def test_traders_download_no_invoice_through_a_listing(world, client, name):
    bill = listed(world)
    invoice = bill.allocations.get().invoice
    response = as_user(client, world, name).get(f"/marketplace/{bill.pk}/invoices/{invoice.pk}/file/")
    assert response.status_code in (403, 404)
