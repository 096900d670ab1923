"""Chinese pages say it in Chinese: each demo role's main pages in zh-Hans carry none of the English UI words that
used to slip through (organization kinds, KYC status, state codes, amount errors quoting the typed text, the
marketplace's hints), a money error on a form reads in Chinese, and the invoice upload's buyer is a counterparty
picker that still takes a typed code or exact legal name and answers garbage with a form error. The oversight
pages (audit log, data explorer, charts), the money pages, a bill's verification page, the notifications inbox
and the invoice import page are walked too: their column headers, filters, chart labels, account kinds and
refusals were English strings in Python.

The visible text is what a person reads: text nodes outside <script>, <style> and <template>, plus the
placeholder, title and aria-label attributes. Names, numbers, codes and hashes may be ASCII; the words below may
not.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from django.conf import settings
from django.test import Client
from django.utils import translation

from bills import market_selectors, services
from bills.market_selectors import listing_transitions
from finance_portal.audit.models import AuditAction
from finance_portal.bootstrap import compile_messages
from finance_portal.errors import InvalidInput
from finance_portal.ledger.models import Account, AccountKind
from finance_portal.money import parse_amount
from finance_portal.organizations.models import KycStatus, OrganizationKind
from finance_portal.oversight.explorer import DATASETS
from finance_portal.oversight.explorer_base import Dataset
from invoices.models import Invoice
from tests.bills.factories import accepted, build_world, financed, in_days, listed, pending, submitted
from tests.invoices.conftest import pdf_bytes, upload

pytestmark = pytest.mark.django_db

ZH = "zh-hans"
CJK = re.compile(r"[\u4e00-\u9fff]")
# English UI words a Chinese page must not show (whole words, case as a page would show them).
ENGLISH_WORDS = [
    "Supplier", "Financier", "Core enterprise", "Regulator", "Platform operator", "KYC approved", "KYC status",
    "approved", "Pending review", "not a decimal amount", "pending receipt", "pending_receipt", "Accept", "Submit",
    "Marketplace", "Invoices", "is not available on this bill", "cannot act on the platform", "decimal places",
    # the oversight audit log, data explorer and charts; the money pages; the verification page
    "Path contains", "Method", "At (UTC)", "Signed in", "Failed sign-in", "Legal name", "Credit code",
    "Organization (credit code)", "Amount moved", "Data explorer", "Bills by state now", "Records pending",
    "Transactions in flight", "median delay", "none waiting", "database and chain agree", "Oversight charts",
    "Cash held on the platform", "Bank clearing", "Platform fee income", "no anchoring contract is deployed",
    "Bill sold", "Bill bought", "Deposit from the bank",
    # the invoice upload's refusals
    "is not a core enterprise on the platform", "No organization with credit code",
]


@pytest.fixture(scope="module", autouse=True)
def _compiled() -> None:
    compile_messages()
    translation.trans_real._translations = {}  # forget catalogues loaded before the .mo existed
    translation.trans_real._default = None


class _Visible(HTMLParser):
    HIDDEN = {"script", "style", "template"}

    def __init__(self) -> None:
        super().__init__()
        self.depth = 0
        self.parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.HIDDEN:
            self.depth += 1
        self.parts.extend(v for k, v in attrs if k in ("placeholder", "title", "aria-label") and v)

    def handle_endtag(self, tag: str) -> None:
        if tag in self.HIDDEN and self.depth:
            self.depth -= 1

    def handle_data(self, data: str) -> None:
        if not self.depth and data.strip():
            self.parts.append(data.strip())


def visible_text(html: str) -> str:
    parser = _Visible()
    parser.feed(html)
    return "\n".join(parser.parts)


def english_words_in(text: str) -> list[str]:
    return [w for w in ENGLISH_WORDS if re.search(r"(?<![A-Za-z_])" + re.escape(w) + r"(?![A-Za-z_])", text)]


def chinese_client(world, role: str) -> Client:  # type: ignore[no-untyped-def]
    client = Client()
    client.force_login(world.user(role))
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = ZH
    return client


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):  # type: ignore[no-untyped-def]
    settings.MEDIA_ROOT = str(tmp_path / "media")


@pytest.fixture
def world():  # type: ignore[no-untyped-def]
    return build_world()


@pytest.fixture
def bills(world):  # type: ignore[no-untyped-def]
    received = pending(world, face="5000.00")  # through pending_receipt, then listed by its new holder
    services.bill_receive(bill_id=received.pk, actor=world.user("supplier2"))
    services.bill_list(bill_id=received.pk, actor=world.user("supplier2"), rate="0.04")
    return {"submitted": submitted(world, face="12345.67"), "accepted": accepted(world, face="250000.00"),
            "listed": listed(world, face="1234567.89"), "financed": financed(world, face="98765.43"),
            "received": received}


def main_pages(world, made) -> dict[str, list[str]]:  # type: ignore[no-untyped-def]
    return {
        "supplier": ["/home/supplier/", "/bills/", f"/bills/{made['accepted'].pk}/", "/bills/new/", "/invoices/",
                     "/invoices/upload/", "/cash/"],
        "buyer": ["/home/core_enterprise/", "/bills/", f"/bills/{made['submitted'].pk}/", "/bills/issue/",
                  "/invoices/", f"/organizations/{world.org('buyer').pk}/credit/"],
        "financier": ["/home/financier/", "/bills/", "/marketplace/", f"/marketplace/{made['listed'].pk}/",
                      f"/marketplace/{made['received'].pk}/", "/portfolio/"],
        "regulator": ["/home/regulator/", "/bills/", f"/bills/{made['financed'].pk}/", "/oversight/",
                      "/oversight/reconciliation/"],
        "admin": ["/home/platform/", "/bills/", "/oversight/"],
    }


def more_pages(world, made) -> dict[str, list[str]]:  # type: ignore[no-untyped-def]
    """The pages a second walk found English on: oversight, money, verification, notifications, import."""
    def statement(org_key: str | None) -> str:
        account = Account.objects.filter(organization=world.org(org_key) if org_key else None).order_by("pk").first()
        assert account is not None, org_key
        return f"/money/statement/{account.pk}/"

    oversight = ["/oversight/audit/", "/oversight/data/", "/oversight/data/organizations/",
                 "/oversight/data/ledger-entries/", "/oversight/data/purchases/", "/oversight/charts/", "/money/"]
    return {
        "supplier": ["/money/", statement("supplier"), f"/verify/{made['accepted'].pk}/", "/notifications/",
                     "/invoices/import/"],
        "buyer": ["/money/", statement("buyer"), f"/verify/{made['submitted'].pk}/", "/notifications/"],
        "financier": ["/money/", statement("financier"), f"/verify/{made['listed'].pk}/", "/notifications/"],
        "regulator": [*oversight, statement("supplier"), statement(None), f"/verify/{made['financed'].pk}/",
                      "/notifications/"],
        "admin": [*oversight, statement(None), f"/verify/{made['financed'].pk}/", "/notifications/"],
    }


@pytest.mark.parametrize("role", ["supplier", "buyer", "financier", "regulator", "admin"])
@pytest.mark.parametrize("walk", [main_pages, more_pages])
def test_a_roles_main_pages_in_chinese_show_no_english_ui_words(world, bills, role, walk):
    client = chinese_client(world, role)
    for url in walk(world, bills)[role]:
        response = client.get(url)
        assert response.status_code == 200, (role, url, response.status_code)
        text = visible_text(response.content.decode())
        assert CJK.search(text), url
        assert english_words_in(text) == [], (role, url, english_words_in(text))


def test_the_word_check_would_catch_the_english_words():
    assert english_words_in("Pearl River Commercial Bank · Financier · KYC approved") == [
        "Financier", "KYC approved", "approved"]
    assert english_words_in("accepted → pending receipt") == ["pending receipt"]
    assert english_words_in("<script>") == [] and visible_text("<p>票据</p><script>Accept()</script>") == "票据"


def test_the_landing_line_names_the_kind_and_kyc_status_in_chinese(world):
    text = visible_text(chinese_client(world, "buyer").get("/home/core_enterprise/").content.decode())
    assert "核心企业" in text and "客户身份审核：已通过" in text
    assert "Core enterprise" not in text and "approved" not in text
    english = Client()
    english.force_login(world.user("buyer"))
    assert "KYC status: approved" in visible_text(english.get("/home/core_enterprise/").content.decode())


def test_organization_kind_and_kyc_labels_follow_the_language():
    with translation.override(ZH):
        assert str(OrganizationKind.SUPPLIER.label) == "供应商" and str(OrganizationKind.FINANCIER.label) == "资金方"
        assert str(KycStatus.APPROVED.label) == "已通过" and str(KycStatus.PENDING.label) == "待审核"
    assert str(OrganizationKind.CORE_ENTERPRISE.label) == "Core enterprise"


def test_the_listing_names_the_states_of_its_transitions_in_words(world, bills):
    bill = bills["received"]
    with translation.override(ZH):
        states = {t.to_state for t in listing_transitions(bill)}
    assert "等待接收方签收" in states and "已在市场挂牌" in states and "pending receipt" not in states
    with translation.override("en"):
        assert "Waiting for the receiver's signature" in {t.to_state for t in listing_transitions(bill)}
    page = visible_text(chinese_client(world, "financier").get(f"/marketplace/{bill.pk}/").content.decode())
    assert "等待接收方签收" in page and "pending" not in page


def test_the_marketplace_hints_are_translated(world, bills):
    bill = bills["accepted"]
    with translation.override(ZH):
        kyc = market_selectors.action_refusal("buy", bill=bill, user=world.user("pending"))
        unavailable = market_selectors.action_refusal("accept_early_settlement", bill=bill, user=world.user("supplier"))
    assert kyc is not None and "客户身份审核" in kyc.message and "KYC status" not in kyc.message
    assert unavailable is not None and "此票据当前不能执行" in unavailable.message and "available" not in unavailable.message
    with translation.override("en"):
        english = market_selectors.action_refusal("accept_early_settlement", bill=bill, user=world.user("supplier"))
    assert english is not None and english.message.endswith(" is not available on this bill now.")


def test_the_amount_errors_quote_the_typed_text_in_the_language_and_keep_the_english():
    with translation.override("en"), pytest.raises(InvalidInput) as english:
        parse_amount("abc", "CNY")
    assert english.value.message.startswith("'abc' is not a decimal amount: write it with the digits 0-9")
    with translation.override(ZH), pytest.raises(InvalidInput) as chinese:
        parse_amount("abc", "CNY")
    assert chinese.value.message.startswith("'abc' 不是有效的十进制金额") and chinese.value.field == "amount"
    with translation.override(ZH), pytest.raises(InvalidInput) as places:
        parse_amount("1.234", "CNY")
    assert places.value.message == "CNY 金额最多 2 位小数。"


def test_a_money_error_on_the_issue_form_is_in_chinese(world):
    response = chinese_client(world, "buyer").post("/bills/issue/", {
        "to": world.org("supplier").credit_code, "face": "12abc", "maturity_date": in_days(90).isoformat()})
    html = response.content.decode()
    assert response.status_code == 200 and 'id="face-error"' in html  # beside the field, the input kept
    text = visible_text(html)
    assert "'12abc' 不是有效的十进制金额" in text and "not a decimal amount" not in text


# ---------------------------------------------------------------------------------------------------------
# The invoice upload's buyer picker
# ---------------------------------------------------------------------------------------------------------


def invoice_form(world, **overrides: object) -> dict[str, object]:  # type: ignore[no-untyped-def]
    data: dict[str, object] = {
        "file": upload("invoice.pdf", pdf_bytes()), "invoice_code": "4403221130", "invoice_number": "61000001",
        "buyer_credit_code": world.org("buyer").credit_code, "issue_date": "2026-10-08", "currency": "CNY",
        "amount_excl_tax": "10000.00", "tax_amount": "1300.00", "total_amount": "11300.00",
    }
    data.update(overrides)
    return data


def test_the_upload_form_renders_the_buyer_picker(world):
    html = chinese_client(world, "supplier").get("/invoices/upload/").content.decode()
    field = re.search(r'<input type="text" id="id_buyer_credit_code" name="buyer_credit_code"[^>]*>', html)
    assert field is not None and 'role="combobox"' in field.group(0)
    assert 'hx-get="/organizations/search/"' in field.group(0) and '"kind": "core_enterprise"' in field.group(0)
    assert "js/picker.js" in html and "js/invoice_drop.js" in html
    assert 'id="invoice-upload-form"' in html and html.index('id="invoice-upload-form"') < field.start()


@pytest.mark.parametrize("typed", ["code", "name", "lower-case name"])
def test_the_buyer_may_be_posted_as_a_code_or_the_exact_legal_name(world, typed):
    buyer = world.org("buyer")
    value = {"code": buyer.credit_code, "name": buyer.legal_name, "lower-case name": f" {buyer.legal_name.lower()} "}
    response = chinese_client(world, "supplier").post("/invoices/upload/", invoice_form(world, buyer_credit_code=value[typed]))
    assert response.status_code == 302, response.content.decode()[:2000]
    assert Invoice.objects.get().buyer == buyer


@pytest.mark.parametrize("typed", ["no such company", "%%%", "9144" * 60, "Shenzhen\x00", "Financier", ""])
def test_garbage_in_the_buyer_picker_is_a_form_error_and_writes_nothing(world, typed):
    client = chinese_client(world, "supplier")
    response = client.post("/invoices/upload/", invoice_form(world, buyer_credit_code=typed))
    assert response.status_code == 400
    assert response.context["form"].errors["buyer_credit_code"]
    assert 'id="id_buyer_credit_code-error"' in response.content.decode()
    assert Invoice.objects.count() == 0


def test_a_supplier_named_as_buyer_is_refused_by_name_too(world):
    supplier2 = world.org("supplier2")
    response = chinese_client(world, "supplier").post("/invoices/upload/",
                                                      invoice_form(world, buyer_credit_code=supplier2.legal_name))
    assert response.status_code == 400 and response.context["form"].errors["buyer_credit_code"]
    assert Invoice.objects.count() == 0


def test_the_drop_zone_still_reads_the_buyer_from_the_picker(world):
    client = chinese_client(world, "supplier")
    response = client.post("/invoices/upload/", invoice_form(world, buyer_credit_code=world.org("buyer").legal_name),
                           HTTP_ACCEPT="application/json")
    assert response.status_code == 201 and response.json()["ok"]


def test_a_buyer_that_is_not_a_core_enterprise_is_refused_in_chinese(world):
    supplier2 = world.org("supplier2")
    response = chinese_client(world, "supplier").post("/invoices/upload/",
                                                      invoice_form(world, buyer_credit_code=supplier2.credit_code))
    assert response.status_code == 400
    text = visible_text(response.content.decode())
    assert f"{supplier2.legal_name} 不是平台上的核心企业" in text and "core enterprise" not in text
    with translation.override("en"):
        english = Client()
        english.force_login(world.user("supplier"))
        page = english.post("/invoices/upload/", invoice_form(world, buyer_credit_code=supplier2.credit_code))
    assert "is not a core enterprise on the platform: invoices are registered against core enterprises only." in (
        visible_text(page.content.decode()))


# ---------------------------------------------------------------------------------------------------------
# Labels built in Python: datasets, audit actions, account kinds
# ---------------------------------------------------------------------------------------------------------


def test_every_dataset_names_its_columns_and_filters_in_chinese_and_exports_english_headers():
    datasets: list[Dataset] = list(DATASETS.values())
    with translation.override(ZH):
        for dataset in datasets:
            assert CJK.search(str(dataset.title)) and CJK.search(str(dataset.description)), dataset.key
            assert all(CJK.search(h) for h in dataset.headers()), dataset.key
            for field in dataset.form(None):
                assert CJK.search(str(field.label)), (dataset.key, field.name)
            assert not any(CJK.search(h) for h in dataset.headers(csv=True)), dataset.key  # scripts read the CSV
        assert DATASETS["organizations"].headers()[1] == "法定名称"
        assert DATASETS["organizations"].headers(csv=True)[1] == "Legal name"
    with translation.override("en"):
        assert DATASETS["organizations"].headers()[1] == "Legal name"


def test_the_audit_actions_and_account_kinds_follow_the_language():
    with translation.override(ZH):
        assert str(AuditAction.LOGIN_FAILED.label) == "登录失败"
        assert str(AccountKind.CASH.label) == "平台托管现金"
    with translation.override("en"):
        assert str(AuditAction.LOGIN_FAILED.label) == "Failed sign-in"
        assert str(AccountKind.CASH.label) == "Cash held on the platform"


def test_the_money_page_names_each_account_by_its_kind(world):
    text = visible_text(chinese_client(world, "supplier").get("/money/").content.decode())
    assert "平台托管现金" in text


def test_the_charts_page_labels_its_bars_in_chinese(world, bills):
    text = visible_text(chinese_client(world, "regulator").get("/oversight/charts/").content.decode())
    assert "待上链记录" in text and "进行中的交易" in text and "Records pending" not in text


def test_the_verify_page_says_no_contract_is_deployed_in_chinese(world, bills):
    text = visible_text(chinese_client(world, "supplier").get(f"/verify/{bills['accepted'].pk}/").content.decode())
    assert "该区块链上尚未部署上链存证合约" in text
