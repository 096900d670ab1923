"""The bill forms of the portal: the counterparty picker's search, the split's rows, rates typed in percent with
their live preview, the confirmation step before money moves or something ends for good, and errors beside
their fields in the user's language."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client
from django.utils import translation
from rest_framework.test import APIClient

from bills import clock, services
from bills.models import Bill, BillEvent, BillPurchase, BillState
from bills.models_money import BillOffer
from bills.page_forms import FormError, parse_percent, percent_input, plain
from finance_portal.bootstrap import compile_messages
from finance_portal.organizations.models import KycStatus, Organization
from finance_portal.organizations.services import organization_create
from finance_portal.organizations.validators import make_credit_code
from tests.bills.factories import accepted, draft, listed, refresh, submitted

pytestmark = pytest.mark.django_db

NOON = dt.datetime(2026, 3, 2, 12, 0, tzinfo=dt.UTC)
SEARCH = "/organizations/search/"


def as_user(client: Client, world, name: str) -> Client:  # type: ignore[no-untyped-def]
    client.force_login(world.user(name))
    return client


def text(response) -> str:  # type: ignore[no-untyped-def]
    return response.content.decode()


@pytest.fixture
def at_noon():  # type: ignore[no-untyped-def]
    with clock.travel_to(NOON):
        yield


@pytest.fixture(scope="module", autouse=True)
def _compiled() -> None:
    compile_messages()
    translation.trans_real._translations = {}
    translation.trans_real._default = None


def written() -> tuple[int, int, int, int]:
    return (Bill.objects.count(), BillEvent.objects.count(), BillPurchase.objects.count(), BillOffer.objects.count())


# ---------------------------------------------------------------------------------------------------------
# The picker's search
# ---------------------------------------------------------------------------------------------------------


def test_the_search_finds_approved_organizations_of_the_kind_by_name_or_code_prefix(world, client):
    supplier2 = world.org("supplier2")
    as_user(client, world, "buyer")
    by_name = text(client.get(SEARCH, {"q": supplier2.legal_name[:6].lower(), "kind": "supplier"}))
    assert supplier2.credit_code in by_name
    by_code = text(client.get(SEARCH, {"q": supplier2.credit_code[:10].lower(), "kind": "supplier"}))
    assert supplier2.credit_code in by_code
    # the field sends its own value under its own name (htmx), with field= naming it
    assert supplier2.credit_code in text(client.get(SEARCH, {"to": supplier2.credit_code, "field": "to",
                                                             "kind": "supplier"}))
    # other kinds do not qualify as a supplier
    financier = world.org("financier")
    assert financier.credit_code not in text(client.get(SEARCH, {"q": financier.credit_code, "kind": "supplier"}))
    assert financier.credit_code in text(client.get(SEARCH, {"q": financier.credit_code, "kind": "trader"}))


def test_the_search_leaves_out_unapproved_oversight_and_own_organizations(world, client):
    as_user(client, world, "supplier")
    for key in ("pending", "regulator", "platform", "supplier"):
        org = world.org(key)
        for kind in ("supplier", "core_enterprise", "financier", "trader"):
            answer = text(client.get(SEARCH, {"q": org.credit_code, "kind": kind}))
            assert org.credit_code not in answer, (key, kind)
    suspended = organization_create(legal_name="Suspended Supply Co.", credit_code=make_credit_code("91440300MA5F00411"),
                                    kinds=["supplier"], kyc_status=KycStatus.SUSPENDED)
    assert suspended.credit_code not in text(client.get(SEARCH, {"q": "Suspended", "kind": "supplier"}))


def test_the_search_answers_names_and_codes_only_and_at_most_ten(world, client):
    for n in range(12):
        organization_create(legal_name=f"Many Parts Supplier {n:02d}", credit_code=make_credit_code(f"91440300MA{n + 600:07d}"),
                            kinds=["supplier"], kyc_status=KycStatus.APPROVED)
    answer = text(as_user(client, world, "buyer").get(SEARCH, {"q": "many parts", "kind": "supplier"}))
    assert answer.count('role="option"') == 10
    assert "kyc" not in answer.lower() and "Approved" not in answer and "@" not in answer
    options = re.findall(r'<li role="option"[^>]*data-code="([^"]+)" data-name="([^"]+)"', answer)
    assert len(options) == 10


@pytest.mark.parametrize("query", ["", "%", "_", "\x00", "a\x00b", "供应链", "😀" * 50, "x" * 5000, "' OR 1=1 --",
                                   "\u202e", "%00"])
def test_the_search_takes_any_text_without_a_500(world, client, query):
    response = as_user(client, world, "buyer").get(SEARCH, {"q": query, "kind": "supplier"})
    assert response.status_code == 200
    assert response.content.count(b'role="option"') <= 10


def test_the_search_needs_a_signed_in_member_of_an_approved_organization(world, client):
    assert client.get(SEARCH, {"q": "a", "kind": "supplier"}).status_code == 302  # to the log-in page
    assert as_user(client, world, "pending").get(SEARCH, {"q": "a", "kind": "supplier"}).status_code == 403
    response = as_user(client, world, "buyer").get(SEARCH, {"q": "a", "kind": "nonsense"})
    assert response.status_code == 200 and b'class="picker-option"' not in response.content


# ---------------------------------------------------------------------------------------------------------
# Rates in percent
# ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("typed", "fraction"), [("3.6", "0.036"), (" 3.6 ", "0.036"), ("3.6%", "0.036"),
                                                 ("4", "0.04"), ("3.7245", "0.037245"), ("0.0001", "0.000001"),
                                                 ("99.9999", "0.999999"), (".5", "0.005")])
def test_percentages_become_exact_fractions(typed, fraction):
    parsed = parse_percent(typed)
    assert parsed == Decimal(fraction) and isinstance(parsed, Decimal)
    assert format(parsed, "f") == fraction


@pytest.mark.parametrize(("typed", "words"), [("3,6", "point"), ("٣", "digits 0 to 9"), ("1e999", "plain number"),
                                              ("-1", "above 0"), ("101", "below 100"), ("100", "below 100"),
                                              ("0", "above 0"), ("", "in percent"), ("3.61234", "four decimals"),
                                              ("NaN", "plain number"), ("Infinity", "plain number"),
                                              ("+3", "plain number"), ("3.6.1", "plain number")])
def test_a_rate_that_is_not_a_plain_percentage_is_refused_in_words(typed, words):
    with pytest.raises(FormError) as refused:
        parse_percent(typed)
    assert words in refused.value.message and refused.value.field == "rate"


def test_fractions_are_shown_in_percent_fields():
    assert percent_input(Decimal("0.036000")) == "3.6"
    assert percent_input(Decimal("0.04")) == "4"
    assert percent_input(Decimal("0.037245")) == "3.7245"


@pytest.mark.parametrize(("typed", "words"), [("3,6", "not a comma: 3.6"), ("٣", "digits 0 to 9"),
                                              ("1e999", "plain number"), ("-1", "above 0"), ("101", "below 100")])
def test_a_bad_asking_rate_is_shown_beside_its_field_with_the_input_kept(world, client, typed, words):
    bill = accepted(world)
    before = written()
    response = as_user(client, world, "supplier").post(f"/bills/{bill.pk}/list/", {"rate": typed, "confirm": "yes"})
    page = text(response)
    assert response.status_code == 400
    error = re.search(r'<p class="field-error" id="list-rate-error">([^<]*)</p>', page)
    assert error and words in error.group(1)
    field = re.search(r'<input [^>]*id="list-rate" name="rate" value="([^"]*)"', page)
    assert field and field.group(1) == typed
    assert written() == before and refresh(bill).state == BillState.ACCEPTED


def test_the_offer_form_refuses_a_comma_rate_beside_the_field(world, client):
    bill = listed(world)
    response = as_user(client, world, "financier").post(f"/marketplace/{bill.pk}/offers/",
                                                        {"rate": "3,6", "expires_in_hours": "24"})
    assert response.status_code == 400 and 'id="offer-rate-error"' in text(response)
    assert 'value="3,6"' in text(response) and not BillOffer.objects.exists()


def test_listing_at_a_percentage_lists_the_exact_fraction_after_confirming(world, client, at_noon):
    bill = accepted(world)
    as_user(client, world, "supplier")
    page = text(client.get(f"/bills/{bill.pk}/"))
    assert 'name="rate"' in page and f'hx-get="/bills/{bill.pk}/price-preview/"' in page
    confirm = client.post(f"/bills/{bill.pk}/list/", {"rate": "3.6"})
    shown = text(confirm)
    assert confirm.status_code == 200 and refresh(bill).state == BillState.ACCEPTED  # nothing happened yet
    assert "3.60\u00a0%" in shown and "9,910.00 CNY" in shown and "90.00 CNY" in shown
    assert 'name="confirm" value="yes"' in shown and 'name="rate" value="3.6"' in shown
    done = client.post(f"/bills/{bill.pk}/list/", {"rate": "3.6", "confirm": "yes"})
    assert done.status_code == 302
    bill = refresh(bill)
    assert bill.state == BillState.LISTED and bill.asking_rate == Decimal("0.036")
    assert "3.60%" in text(client.get(f"/bills/{bill.pk}/")) and "0.036" not in text(client.get(f"/bills/{bill.pk}/"))


# ---------------------------------------------------------------------------------------------------------
# The live preview
# ---------------------------------------------------------------------------------------------------------


def test_the_preview_equals_the_api_quote_of_the_worked_example(world, client, at_noon):
    bill = listed(world, "10000.00", rate="0.036")  # matures in 90 days
    api = APIClient()
    api.force_login(world.user("financier"))
    quote = api.get(f"/api/v1/marketplace/{bill.pk}/").json()["quote"]
    assert quote == {"days": 90, "basis": 360, "interest": "90.00", "price": "9910.00"}
    for name in ("financier", "supplier"):  # a financier pricing the listing, its holder
        preview = text(as_user(client, world, name).get(f"/bills/{bill.pk}/price-preview/", {"rate": "3.6"}))
        assert 'data-preview="price">9,910.00 CNY' in preview
        assert 'data-preview="interest">90.00 CNY' in preview
        assert 'data-preview="days">90<' in preview
        assert 'data-preview="yield">3.63%' in preview  # 90 / 9,910 × 360 / 90


def test_the_preview_of_a_bad_rate_says_why_without_an_error_status(world, client, at_noon):
    bill = accepted(world)
    response = as_user(client, world, "supplier").get(f"/bills/{bill.pk}/price-preview/", {"rate": "3,6"})
    assert response.status_code == 200 and "not a comma" in text(response) and "data-preview" not in text(response)


@pytest.mark.parametrize("name", ["supplier2", "buyer2", "financier"])
def test_the_preview_of_a_bill_out_of_reach_is_not_found(world, client, name):
    bill = accepted(world)  # not listed: no financier may price it, no outsider may see it
    response = as_user(client, world, name).get(f"/bills/{bill.pk}/price-preview/", {"rate": "3.6"})
    assert response.status_code == 404 and b"10,000.00" not in response.content


# ---------------------------------------------------------------------------------------------------------
# Confirmation before money moves or something ends for good
# ---------------------------------------------------------------------------------------------------------


def test_a_post_without_confirm_runs_nothing_for_each_confirmed_action(world, client, at_noon):
    as_user(client, world, "supplier")
    cases = [
        (accepted(world), "transfer", {"to": world.org("supplier2").credit_code}),
        (accepted(world), "split", {"parts-0-face": "4000.00", "parts-1-face": "6000.00"}),
        (accepted(world), "list", {"rate": "3.6"}),
        (draft(world), "cancel", {}),
    ]
    for bill, action, form in cases:
        before = written()
        response = client.post(f"/bills/{bill.pk}/{action}/", form)
        page = text(response)
        assert response.status_code == 200, action
        assert 'name="confirm" value="yes"' in page and "What will happen" in page, action
        assert ("This cannot be undone" in page) is (action != "list"), action
        assert written() == before, action
    rejected = submitted(world)
    response = as_user(client, world, "buyer").post(f"/bills/{rejected.pk}/reject/", {"reason": "Wrong goods"})
    assert response.status_code == 200 and refresh(rejected).state == BillState.SUBMITTED
    assert 'name="reason" value="Wrong goods"' in text(response)


def test_the_transfer_confirmation_names_the_receiver_typed_by_its_legal_name(world, client):
    bill = accepted(world)
    receiver = world.org("supplier2")
    as_user(client, world, "supplier")
    response = client.post(f"/bills/{bill.pk}/transfer/", {"to": receiver.legal_name})
    assert response.status_code == 200 and receiver.credit_code in text(response)
    assert refresh(bill).state == BillState.ACCEPTED
    done = client.post(f"/bills/{bill.pk}/transfer/", {"to": receiver.legal_name, "confirm": "yes"})
    assert done.status_code == 302 and refresh(bill).pending_holder == receiver


def test_buying_without_confirm_shows_the_figures_and_buys_nothing(world, client, at_noon):
    bill = listed(world)
    as_user(client, world, "financier")
    key = client.get(f"/marketplace/{bill.pk}/buy/").context["idempotency_key"]
    response = client.post(f"/marketplace/{bill.pk}/buy/", {"rate": "3.6", "idempotency_key": key})
    assert response.status_code == 200 and "9,910.00 CNY" in text(response)
    assert f"You pay 9,910.00 CNY to {world.org('supplier').legal_name}" in text(response).replace("&#x27;", "'")
    assert not BillPurchase.objects.exists()
    assert client.post(f"/bills/{bill.pk}/buy/", {"rate": "3.6", "idempotency_key": key}).status_code == 302
    assert not BillPurchase.objects.exists()  # the bill page's route sends it to the confirmation too


def test_accepting_an_offer_asks_first_with_the_price(world, client, at_noon):
    bill = listed(world)
    offer = services.offer_make(bill_id=bill.pk, actor=world.user("financier"), rate="0.034")
    as_user(client, world, "supplier")
    response = client.post(f"/bills/offers/{offer.pk}/accept/")
    page = text(response).replace("&#x27;", "'")
    assert response.status_code == 200 and "9,915.00 CNY" in page and world.org("financier").legal_name in page
    assert refresh(bill).state == BillState.LISTED
    done = client.post(f"/bills/offers/{offer.pk}/accept/", {"confirm": "yes"})
    assert done.status_code == 302 and refresh(bill).holder == world.org("financier")
    # an outsider learns nothing of an offer, confirmed or not
    other = listed(world)
    foreign = services.offer_make(bill_id=other.pk, actor=world.user("financier2"), rate="0.03")
    assert as_user(client, world, "supplier2").post(f"/bills/offers/{foreign.pk}/accept/").status_code == 404


# ---------------------------------------------------------------------------------------------------------
# The split form
# ---------------------------------------------------------------------------------------------------------


def test_split_rows_become_the_services_parts(world, client):
    bill = accepted(world, "10000.00")
    receiver = world.org("supplier2")
    form = {"parts-0-face": "2500.00", "parts-3-face": "7500.00", "parts-3-transfer_to": receiver.credit_code,
            "parts-1-face": "", "parts-1-transfer_to": "", "confirm": "yes"}  # gaps and blank rows are fine
    response = as_user(client, world, "supplier").post(f"/bills/{bill.pk}/split/", form)
    assert response.status_code == 302 and refresh(bill).state == BillState.SPLIT
    parts = {p.face: p for p in Bill.objects.filter(parent=bill)}
    assert set(parts) == {Decimal("2500.00"), Decimal("7500.00")}
    assert parts[Decimal("7500.00")].pending_holder == receiver and parts[Decimal("2500.00")].pending_holder is None


def test_a_split_part_error_is_shown_beside_that_part(world, client):
    bill = accepted(world, "10000.00")
    before = written()
    form = {"parts-0-face": "4000.00", "parts-1-face": "3000.00", "parts-2-face": "abc", "confirm": "yes"}
    response = as_user(client, world, "supplier").post(f"/bills/{bill.pk}/split/", form)
    page = text(response)
    assert response.status_code == 400
    assert re.search(r'id="parts-2-face-error">[^<]+<', page)  # the third part's amount
    assert 'name="parts-2-face" value="abc"' in page and 'name="parts-0-face" value="4000.00"' in page
    assert "parts[2]" not in page and "parts[2].face" not in page
    assert written() == before
    unknown = {"parts-0-face": "4000.00", "parts-1-face": "6000.00", "parts-1-transfer_to": "Nobody Ltd"}
    page = text(client.post(f"/bills/{bill.pk}/split/", unknown))  # before the confirmation
    assert 'id="parts-1-transfer_to-error"' in page and 'value="Nobody Ltd"' in page
    short = text(client.post(f"/bills/{bill.pk}/split/", {"parts-0-face": "4000.00", "parts-1-face": "5000.00"}))
    assert 'id="parts-error"' in short and "1,000.00 CNY left to share out" in short
    assert written() == before


# ---------------------------------------------------------------------------------------------------------
# Errors in place, in the user's language
# ---------------------------------------------------------------------------------------------------------


def test_an_issue_error_is_shown_beside_the_supplier_field_with_the_input_kept(world, client):
    as_user(client, world, "buyer")
    page = text(client.get("/bills/issue/"))
    assert 'role="combobox"' in page and 'hx-get="/organizations/search/"' in page and "js/picker.js" in page
    response = client.post("/bills/issue/", {"to": world.org("financier").credit_code, "face": "500.00",
                                             "maturity_date": (clock.today() + dt.timedelta(days=20)).isoformat()})
    page = text(response)
    assert 'id="to-error"' in page and "is not a supplier" in page
    assert f'value="{world.org("financier").credit_code}"' in page and 'value="500.00"' in page
    assert not Bill.objects.exists()


def test_errors_are_in_chinese_when_the_language_is_chinese(world):
    bill = accepted(world)
    client = Client()
    client.force_login(world.user("supplier"))
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hans"
    page = text(client.post(f"/bills/{bill.pk}/list/", {"rate": "3,6", "confirm": "yes"}))
    assert "小数请用小数点而不是逗号" in page
    page = text(client.post(f"/bills/{bill.pk}/transfer/", {"to": "91440300MA5F000000", "confirm": "yes"}))
    assert "平台上没有信用代码为 91440300MA5F000000 的机构" in page
    api = APIClient()
    api.force_login(world.user("supplier"))
    answer = api.post(f"/api/v1/bills/{bill.pk}/list/", {"rate": "2"}, format="json", HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert answer.status_code == 400 and answer.json()["field"] == "rate"  # the API keeps fractions and field names
    english = api.post(f"/api/v1/bills/{bill.pk}/list/", {"rate": "2"}, format="json")
    assert "fraction above 0 and below 1" in english.json()["detail"]


def test_the_state_codes_never_reach_a_message(world, client):
    assert plain("Bill B-1 is pending_receipt.") == "Bill B-1 is waiting for the receiver's signature."
    with translation.override("zh-hans"):
        assert "pending_receipt" not in plain("Bill B-1 is pending_receipt.")
    bill = accepted(world)
    services.bill_transfer(bill_id=bill.pk, actor=world.user("supplier"), to=world.org("supplier2").credit_code)
    as_user(client, world, "supplier")
    response = client.post(f"/bills/{bill.pk}/split/", {"parts-0-face": "1.00", "parts-1-face": "9999.00",
                                                        "confirm": "yes"}, follow=True)
    assert "pending_receipt" not in text(response) and "msg-error" in text(response)


def test_the_amount_rules_of_the_money_module_are_translated_on_the_page(world):
    bill = accepted(world)
    client = Client()
    client.force_login(world.user("supplier"))
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hans"
    page = text(client.post(f"/bills/{bill.pk}/split/", {"parts-0-face": "0", "parts-1-face": "10000.00"}))
    assert 'id="parts-0-face-error"' in page and "金额必须大于零" in page


def test_the_message_banner_is_styled_by_level():
    css = (Path(__file__).resolve().parents[2] / "finance_portal" / "static" / "css" / "portal.css").read_text()
    for level in ("success", "info", "warning", "error"):
        assert f".messages li.msg-{level}" in css


def test_an_unknown_organization_is_not_created_by_the_picker(world, client):
    count = Organization.objects.count()
    as_user(client, world, "buyer").get(SEARCH, {"q": "New Co", "kind": "supplier"})
    assert Organization.objects.count() == count


def test_settling_and_early_settlement_say_who_pays_whom_how_much_before_they_run(world, client):
    bill = accepted(world, "10000.00")
    holder = world.org("supplier").legal_name
    with clock.travel_to(dt.datetime.combine(bill.maturity_date, dt.time(9), tzinfo=dt.UTC)):
        as_user(client, world, "buyer")
        before = written()
        page = text(client.post(f"/bills/{bill.pk}/settle/", {})).replace("&#x27;", "'")
        assert f"Your organization pays {holder} 10,000.00 CNY, the face of bill {bill.number}" in page
        assert written() == before and refresh(bill).state == BillState.ACCEPTED
        assert client.post(f"/bills/{bill.pk}/settle/", {"confirm": "yes"}).status_code == 302
        assert refresh(bill).state == BillState.SETTLED
    early = accepted(world, "20000.00")
    services.bill_request_early_settlement(bill_id=early.pk, actor=world.user("buyer"))
    as_user(client, world, "supplier")
    page = text(client.post(f"/bills/{early.pk}/accept-early-settlement/", {})).replace("&#x27;", "'")
    assert f"{world.org('buyer').legal_name} pays your organization 20,000.00 CNY now" in page
    assert refresh(early).state == BillState.ACCEPTED


def test_a_refused_action_is_not_offered_for_confirmation(world, client):
    bill = accepted(world)
    response = as_user(client, world, "supplier").post(f"/bills/{bill.pk}/settle/", {})  # the debtor settles
    assert response.status_code == 302 and refresh(bill).state == BillState.ACCEPTED
    page = text(client.get(response["Location"]))
    assert "msg-error" in page and "Only the bill&#x27;s debtor can settle this bill." in page
