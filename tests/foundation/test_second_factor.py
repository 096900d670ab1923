"""Log-in security (issue 13): a second factor (TOTP) for financiers and platform staff before money moves,
sessions that end after inactivity, the lock-out message with its duration, and CSRF on every form."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
from django.contrib.sessions.models import Session
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from bills import rules
from bills.models import BillPurchase, BillState
from finance_portal.portal.demo import DEMO_PASSWORD
from finance_portal.portal.second_factor import MONEY_ACTIONS, moves_money
from tests.bills.factories import World, accepted, build_world, listed, refresh
from tests.conftest import login

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(db: None) -> World:
    return build_world()


@pytest.fixture
def two_factor(settings):  # type: ignore[no-untyped-def]
    settings.MONEY_REQUIRES_2FA = True
    return settings


def device_for(user, *, confirmed: bool = True) -> TOTPDevice:  # type: ignore[no-untyped-def]
    return TOTPDevice.objects.create(user=user, name="phone", confirmed=confirmed)


def code(device: TOTPDevice, *, offset_steps: int = 0) -> str:
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = timezone.now().timestamp() + offset_steps * device.step
    return f"{totp.token():0{device.digits}d}"


def token_client(user) -> APIClient:  # type: ignore[no-untyped-def]
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.get_or_create(user=user)[0].key}")
    return client


def test_every_money_moving_action_of_the_rule_book_is_gated_on_its_api_and_page_routes():
    assert MONEY_ACTIONS == {t.action for t in rules.TRANSITIONS if t.moves_money} >= {"buy", "settle"}
    bill = "00000000-0000-0000-0000-000000000001"
    for action in rules.ROUTED_ACTIONS:
        slug = action.replace("_", "-")
        assert moves_money(f"/api/v1/bills/{bill}/{slug}/") is (action in MONEY_ACTIONS), action
        assert moves_money(f"/bills/{bill}/{slug}/") is (action in MONEY_ACTIONS), action
    for path in (f"/marketplace/{bill}/buy/", "/bills/offers/1/accept/", "/api/v1/offers/1/accept/",
                 "/api/v1/admin/deposits/", "/api/v1/admin/withdrawals/"):
        assert moves_money(path), path
    assert not moves_money("/api/v1/bills/") and not moves_money("/no/such/path/")


def test_a_financier_buying_through_the_api_needs_the_current_code(world, two_factor):
    two_factor.OTP_TOTP_THROTTLE_FACTOR = 0  # django-otp slows retries after a wrong code; not the point here
    bill = listed(world)
    client = token_client(world.user("financier"))
    refused = client.post(f"/api/v1/bills/{bill.pk}/buy/", {}, format="json")
    assert refused.status_code == 403 and refused.json()["code"] == "second_factor_required"
    device = device_for(world.user("financier"))
    wrong = client.post(f"/api/v1/bills/{bill.pk}/buy/", {}, format="json", HTTP_X_OTP="000000"
                        if code(device) != "000000" else "111111")
    assert wrong.status_code == 403
    for bad in ("１２３４５６", "12345\x00", "abcdef", ""):
        assert client.post(f"/api/v1/bills/{bill.pk}/buy/", {}, format="json", HTTP_X_OTP=bad).status_code == 403
    assert not BillPurchase.objects.filter(bill=bill).exists() and refresh(bill).state == BillState.LISTED
    bought = client.post(f"/api/v1/bills/{bill.pk}/buy/", {}, format="json", HTTP_X_OTP=code(device))
    assert bought.status_code == 200, bought.content
    assert refresh(bill).state == BillState.FINANCED


def test_a_code_is_good_once(world, two_factor):
    first, second = listed(world), listed(world)
    device = device_for(world.user("financier"))
    client = token_client(world.user("financier"))
    now = code(device)
    assert client.post(f"/api/v1/bills/{first.pk}/buy/", {}, format="json", HTTP_X_OTP=now).status_code == 200
    replay = client.post(f"/api/v1/bills/{second.pk}/buy/", {}, format="json", HTTP_X_OTP=now)
    assert replay.status_code == 403 and refresh(second).state == BillState.LISTED


def test_the_page_sends_a_financier_to_enrol_then_back_and_the_verified_session_buys(world, two_factor):
    two_factor.OTP_TOTP_THROTTLE_FACTOR = 0
    bill = listed(world)
    client = Client()
    login(client, "financier")
    refused = client.post(reverse("bills:buy-confirm", args=[bill.pk]), {"rate": "0.036"},
                          HTTP_REFERER=f"/marketplace/{bill.pk}/buy/")
    assert refused.status_code == 302 and refused["Location"].startswith("/accounts/2fa/?next=")
    assert refresh(bill).state == BillState.LISTED
    page = client.get(refused["Location"])
    assert page.status_code == 200 and b"<svg" in page.content and b"Key:" in page.content
    device = TOTPDevice.objects.get(user=world.user("financier"), confirmed=False)
    wrong = client.post("/accounts/2fa/", {"code": "12", "next": f"/marketplace/{bill.pk}/buy/"})
    assert wrong.status_code == 400 and b"6-digit code" in wrong.content
    confirmed = client.post("/accounts/2fa/", {"code": code(device), "next": f"/marketplace/{bill.pk}/buy/"})
    assert confirmed.status_code == 302 and confirmed["Location"] == f"/marketplace/{bill.pk}/buy/"
    assert TOTPDevice.objects.get(pk=device.pk).confirmed
    bought = client.post(f"/api/v1/bills/{bill.pk}/buy/", {}, content_type="application/json")
    assert bought.status_code == 200, bought.content


def test_an_enrolled_financier_enters_a_code_on_a_new_session(world, two_factor):
    device = device_for(world.user("financier"))
    client = Client()
    login(client, "financier")
    page = client.get("/accounts/2fa/?next=/marketplace/")
    assert page.status_code == 200 and b"<svg" not in page.content  # no new key once one is confirmed
    assert client.post("/accounts/2fa/", {"code": code(device), "next": "https://evil.example/"})["Location"] == "/"


def test_platform_staff_need_it_for_deposits_and_others_are_not_asked(world, two_factor):
    staff = token_client(world.user("admin"))
    deposit = staff.post("/api/v1/admin/deposits/", {"organization": world.org("financier").credit_code,
                                                     "amount": "1000.00", "currency": "CNY",
                                                     "reference": "W-1", "reason": "wire"}, format="json")
    assert deposit.status_code == 403 and deposit.json()["code"] == "second_factor_required"
    supplier = token_client(world.user("supplier"))
    bill = accepted(world)
    assert supplier.post(f"/api/v1/bills/{bill.pk}/list/", {"rate": "0.036"}, format="json").status_code == 200
    financier = token_client(world.user("financier"))
    offer = financier.post(f"/api/v1/bills/{bill.pk}/offers/", {"rate": "0.04"}, format="json")
    assert offer.status_code == 201, offer.content  # an offer moves no money until the holder accepts it


def test_with_the_setting_off_nobody_is_asked(world, settings):
    settings.MONEY_REQUIRES_2FA = False
    bill = listed(world)
    assert token_client(world.user("financier")).post(f"/api/v1/bills/{bill.pk}/buy/", {},
                                                       format="json").status_code == 200


def test_a_session_ends_after_the_idle_time_and_a_request_renews_it(world, settings):
    # Renewed at most once a minute (tests/foundation/test_sliding_session.py), not written on every request.
    assert settings.SESSION_COOKIE_AGE == 30 * 60 and settings.SESSION_RENEW_SECONDS == 60
    client = Client()
    login(client, "supplier")
    assert client.get("/home/supplier/").status_code == 200
    session = Session.objects.get(session_key=client.session.session_key)
    remaining = session.expire_date - timezone.now()
    assert dt.timedelta(minutes=29) < remaining <= dt.timedelta(minutes=30)
    Session.objects.filter(pk=session.pk).update(expire_date=timezone.now() - dt.timedelta(seconds=1))
    response = client.get("/home/supplier/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_the_lock_out_page_names_the_limit_and_the_duration(world, settings):
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post("/accounts/login/", {"username": "supplier", "password": "wrong"})
    response = client.post("/accounts/login/", {"username": "supplier", "password": DEMO_PASSWORD})
    assert response.status_code == 429
    text = response.content.decode()
    assert f"After {settings.AXES_FAILURE_LIMIT} failed attempts" in text and "locked for 15 minutes" in text


def test_every_post_form_in_the_templates_carries_the_csrf_token():
    root = Path(__file__).resolve().parents[2] / "templates"
    forms = 0
    for template in root.rglob("*.html"):
        text = template.read_text()
        for form in re.findall(r"<form\b[^>]*>.*?</form>", text, flags=re.S | re.I):
            if re.search(r'method=["\']?post', form, flags=re.I):
                forms += 1
                assert "{% csrf_token %}" in form, (template.name, form[:120])
    assert forms >= 15


def test_a_post_without_the_csrf_token_is_refused(world):
    bill = accepted(world)
    client = Client(enforce_csrf_checks=True)
    client.force_login(world.user("supplier"))
    response = client.post(f"/bills/{bill.pk}/list/", {"rate": "0.036"})
    assert response.status_code == 403 and refresh(bill).state == BillState.ACCEPTED
    api = APIClient(enforce_csrf_checks=True)
    api.force_login(world.user("supplier"))
    assert api.post(f"/api/v1/bills/{bill.pk}/list/", {"rate": "0.036"}, format="json").status_code == 403
    assert refresh(bill).state == BillState.ACCEPTED
