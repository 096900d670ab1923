"""English and Simplified Chinese (issue 11): every demo role's main pages render in both languages, the
language switcher remembers the choice, the zh-Hans catalogue is complete, and money and rates are formatted.

English stays the default (``LANGUAGE_CODE = "en-us"``): a request without a language cookie or an
Accept-Language header gets English, so the other tests keep reading English pages. The catalogue is compiled
here with bootstrap's ``compile_messages`` (``make test`` compiles it too): a fresh clone needs no ``.mo`` file.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client
from django.utils import translation

from finance_portal.bootstrap import ROOT, catalogues, compile_messages
from finance_portal.portal.templatetags.money import format_money, percent, when
from tests.bills.factories import accepted, build_world, financed, listed, submitted

PO_FILE = ROOT / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"
CJK = re.compile(r"[\u4e00-\u9fff]")
ZH = "zh-hans"


@pytest.fixture(scope="module", autouse=True)
def _compiled() -> None:
    compile_messages()
    translation.trans_real._translations = {}  # forget catalogues loaded before the .mo existed
    translation.trans_real._default = None


@pytest.fixture
def bills(db):  # type: ignore[no-untyped-def]
    world = build_world()
    made = {
        "submitted": submitted(world, face="12345.67"),
        "accepted": accepted(world, face="250000.00"),
        "listed": listed(world, face="1234567.89", rate="0.036"),
        "financed": financed(world, face="98765.43"),
    }
    return world, made


def main_pages(world, made) -> dict[str, list[str]]:  # type: ignore[no-untyped-def]
    """Each demo role's main pages (the nav's targets and a bill of each kind it meets)."""
    credit = f"/organizations/{world.org('buyer').pk}/credit/"
    listed_bill, financed_bill = made["listed"].pk, made["financed"].pk
    return {
        "supplier": ["/home/supplier/", "/bills/", f"/bills/{made['accepted'].pk}/", f"/bills/{listed_bill}/",
                     "/bills/new/", "/invoices/", "/invoices/upload/", "/cash/", "/money/"],
        "buyer": ["/home/core_enterprise/", "/bills/", f"/bills/{made['submitted'].pk}/", "/bills/issue/",
                  "/invoices/", "/cash/", "/money/", credit],
        "financier": ["/home/financier/", "/bills/", f"/bills/{financed_bill}/", "/marketplace/",
                      f"/marketplace/{listed_bill}/", "/portfolio/", "/money/", f"/verify/{listed_bill}/"],
        "regulator": ["/home/regulator/", "/bills/", f"/bills/{financed_bill}/", "/marketplace/", "/portfolio/",
                      "/cash/", "/money/", "/invoices/", "/oversight/", "/oversight/reconciliation/",
                      "/oversight/charts/", "/oversight/data/", "/oversight/audit/"],
        "admin": ["/home/platform/", "/ops/worker/", "/bills/", "/marketplace/", "/oversight/"],
    }


def client_for(world, role: str, language: str | None) -> Client:  # type: ignore[no-untyped-def]
    client = Client()
    client.force_login(world.user(role))
    if language:
        client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    return client


def headings(html: str) -> list[str]:
    return [re.sub(r"<[^>]+>", "", h).strip() for h in re.findall(r"<h1[^>]*>(.*?)</h1>", html, flags=re.S)]


@pytest.mark.parametrize("role", ["supplier", "buyer", "financier", "regulator", "admin"])
def test_every_main_page_of_a_role_renders_in_chinese_and_in_english(bills, role):
    world, made = bills
    zh, en = client_for(world, role, ZH), client_for(world, role, None)
    for url in main_pages(world, made)[role]:
        chinese = zh.get(url)
        assert chinese.status_code == 200, (role, url, chinese.status_code)
        html = chinese.content.decode()
        assert '<html lang="zh-Hans">' in html, url
        assert ">首页</a>" in html and ">票据</a>" in html and ">Home</a>" not in html, url  # the nav
        assert "退出登录" in html and "供应链金融平台" in html, url
        assert all(CJK.search(h) for h in headings(html)), (url, headings(html))

        english = en.get(url)
        assert english.status_code == 200, (role, url)
        text = english.content.decode()
        assert '<html lang="en">' in text and ">Home</a>" in text and ">Bills</a>" in text, url
        assert not CJK.search(text.replace("简体中文", "")), url  # only the switcher's own name is Chinese


def test_the_log_in_page_and_a_missing_page_follow_the_language(db):
    client = Client()
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = ZH
    html = client.get("/accounts/login/").content.decode()
    assert "<h1>登录</h1>" in html and "用户名" in html and "密码" in html
    assert "<h1>Log in</h1>" in Client().get("/accounts/login/").content.decode()


def test_accept_language_chooses_chinese_when_no_choice_was_made(db):
    html = Client(HTTP_ACCEPT_LANGUAGE="zh-CN,zh;q=0.9").get("/accounts/login/").content.decode()
    assert "<h1>登录</h1>" in html


@pytest.mark.parametrize("role", ["supplier", "regulator"])
def test_the_switcher_changes_the_language_and_it_is_remembered(bills, role):
    """The top bar's form posts to set_language (a regulator too: the read-only floor lets it through)."""
    world, _ = bills
    client = client_for(world, role, None)
    page = client.get("/bills/").content.decode()
    assert 'action="/i18n/setlang/"' in page and 'name="language" value="zh-hans"' in page
    assert 'name="next"' not in page  # back to the Referer: a page never echoes its own URL (ids of a 404)

    answer = client.post("/i18n/setlang/", {"language": ZH}, HTTP_REFERER="http://testserver/bills/")
    assert answer.status_code == 302 and answer["Location"] == "http://testserver/bills/"
    assert client.cookies[settings.LANGUAGE_COOKIE_NAME].value == ZH
    again = client.get("/bills/").content.decode()  # the next request, no parameter: the cookie remembers
    assert "<h1>票据</h1>" in again and 'aria-current="true">简体中文' in again.replace('lang="zh-Hans"', "")

    client.post("/i18n/setlang/", {"language": "en"}, HTTP_REFERER="http://testserver/bills/")
    assert "<h1>Bills</h1>" in client.get("/bills/").content.decode()


def test_a_refusal_names_the_states_in_words_in_the_active_language(bills):
    world, made = bills
    client = client_for(world, "buyer", ZH)
    bill = made["financed"]
    client.post(f"/bills/{bill.pk}/accept/", {"reason": ""})
    html = client.get(f"/bills/{bill.pk}/").content.decode()
    assert "无法执行“承兑”" in html and "已融资" in html and "financed," not in html


def test_the_apis_refusals_speak_the_request_language(bills):
    world, made = bills
    cases = [  # (role, method, url, status, English, Chinese)
        ("supplier", "get", "/api/v1/marketplace/", 403, "The marketplace is open", "交易市场仅向"),
        ("financier", "get", f"/api/v1/marketplace/{made['financed'].pk}/", 404, "No such listing.", "没有这个挂牌"),
        ("supplier", "get", "/api/v1/bills/00000000-0000-0000-0000-000000000000/", 404, "No such bill.", "没有"),
        ("supplier", "get", "/api/v1/invoices/00000000-0000-0000-0000-000000000000/", 404, "No such invoice.",
         "没有这张发票"),
        ("supplier", "post", "/api/v1/credit-limits/", 403, "Only financiers grant", "只有资金方可以授予"),
        ("financier", "post", "/api/v1/credit-limits/999999/revoke/", 404, "No such credit limit.", "没有这个授信额度"),
    ]
    for role, method, url, status, english, chinese in cases:
        for language, words in (("en", english), (ZH, chinese)):
            response = getattr(client_for(world, role, language), method)(url)
            assert response.status_code == status, (url, response.content)
            assert words in response.json()["detail"], (url, language, response.json())


def test_an_invoice_files_refusals_speak_the_active_language():
    from django.core.files.base import ContentFile

    from invoices.errors import InvoiceInvalid
    from invoices.files import inspect_upload
    from invoices.imports import parse_import_file

    cases = [  # (call, English, Chinese)
        (lambda: inspect_upload(None), "Attach the invoice file", "请附上发票文件"),
        (lambda: inspect_upload(ContentFile(b"", name="a.pdf")), "The file is empty.", "文件为空"),
        (lambda: parse_import_file(None), "Choose a CSV or XLSX file", "请选择要导入的 CSV 或 XLSX 文件"),
        (lambda: parse_import_file(ContentFile(b"x", name="a.txt")), "Import a .csv or an .xlsx file", "请导入"),
        (lambda: parse_import_file(ContentFile(b"invoice_number\n", name="a.csv")), "The header lacks the columns",
         "表头缺少以下列"),
    ]
    for call, english, chinese in cases:
        for language, words in (("en", english), (ZH, chinese)):
            with translation.override(language), pytest.raises(InvoiceInvalid) as refused:
                call()
            assert words in refused.value.message, (language, refused.value.message)


def _po_entries(path: Path) -> list[dict[str, object]]:
    """A tiny .po reader: msgid, msgid_plural, msgstr[n] and flags of each entry (strings joined, unescaped)."""
    entries: list[dict[str, object]] = []
    current: dict[str, object] = {}
    key = ""
    for line in path.read_text(encoding="utf-8").splitlines() + [""]:
        if not line.strip():
            if current:
                entries.append(current)
            current, key = {}, ""
            continue
        if line.startswith("#,"):
            current.setdefault("flags", []).extend(f.strip() for f in line[2:].split(","))  # type: ignore[union-attr]
            continue
        if line.startswith("#"):
            continue
        match = re.match(r'^(msgid_plural|msgid|msgstr(?:\[\d+\])?|msgctxt) "(.*)"$', line)
        if match:
            key = match.group(1)
            current[key] = match.group(2)
        elif line.startswith('"') and key:
            current[key] = str(current[key]) + line[1:-1]
    return entries


def test_the_chinese_catalogue_translates_every_message_and_keeps_the_placeholders():
    assert len([e for e in _po_entries(PO_FILE) if e.get("msgid")]) > 600
    chinese = [po for po in catalogues() if po.parent.parent.name == "zh_Hans"]
    assert PO_FILE in chinese
    entries = [entry for po in chinese for entry in _po_entries(po)]
    messages = [e for e in entries if e.get("msgid")]
    for entry in entries:
        assert "fuzzy" not in entry.get("flags", []), entry  # type: ignore[operator]
    for entry in messages:
        translations = [v for k, v in entry.items() if str(k).startswith("msgstr")]
        assert translations and all(translations), f"untranslated: {entry['msgid']!r}"
        wanted = set(re.findall(r"%\(\w+\)s", str(entry["msgid"])))
        for text in translations:
            assert set(re.findall(r"%\(\w+\)s", str(text))) == wanted, entry["msgid"]


def test_the_compiled_catalogue_is_not_committed():
    ignored = (ROOT / ".gitignore").read_text().split()
    assert "*.mo" in ignored


def test_bill_detail_shows_money_with_separators_and_the_rate_as_a_percentage(bills):
    world, made = bills
    for language in (None, ZH):
        html = client_for(world, "supplier", language).get(f"/bills/{made['listed'].pk}/").content.decode()
        assert "1,234,567.89 CNY" in html and "1234567.89" not in html
        assert "3.60%" in html and "0.036000" not in html


def test_the_marketplace_and_the_invoices_show_formatted_amounts(bills):
    world, made = bills
    market = client_for(world, "financier", ZH).get("/marketplace/").content.decode()
    assert "1,234,567.89 CNY" in market and "3.60%" in market
    invoices = client_for(world, "supplier", None).get("/invoices/").content.decode()
    assert re.search(r"\d{1,3}(,\d{3})+\.\d{2} CNY", invoices)


def test_the_filters_format_the_same_way_in_both_languages():
    for language in ("en", ZH):
        with translation.override(language):
            assert format_money(Decimal("-1234567.5"), "CNY") == "\u22121,234,567.50 CNY"
            assert percent(Decimal("0.036"), 2) == "3.60%"


def test_times_are_shown_in_the_platform_timezone_with_its_label():
    moment = dt.datetime(2026, 3, 2, 17, 30, 5, tzinfo=dt.UTC)
    assert when(moment) == "2026-03-03 01:30 UTC+8"  # Asia/Shanghai by default
    assert when(moment, "s") == "2026-03-03 01:30:05 UTC+8"
    assert when(moment, "s utc") == "2026-03-02 17:30:05 UTC"
    assert when(None) == "–"


def test_an_organization_with_a_chinese_legal_name_is_named_in_chinese_to_a_chinese_reader(bills):
    world, made = bills
    buyer, supplier = world.org("buyer"), world.org("supplier")
    assert buyer.legal_name_zh == "华信电子制造集团有限公司"  # the demo organizations carry their Chinese names
    supplier.legal_name_zh = ""  # and one without
    supplier.save(update_fields=["legal_name_zh"])
    path = f"/bills/{made['listed'].pk}/"
    english = client_for(world, "supplier", None).get(path).content.decode()
    chinese = client_for(world, "supplier", ZH).get(path).content.decode()
    assert buyer.legal_name in english and buyer.legal_name_zh not in english
    assert buyer.legal_name_zh in chinese and buyer.legal_name not in chinese
    # Without a Chinese name, the registered one shows in both languages.
    assert supplier.legal_name in chinese
    # The counterparty picker finds it by either name and answers in the reader's language.
    search = "/organizations/search/?kind=core_enterprise&q="
    found = client_for(world, "supplier", ZH).get(search + "华信电子").content.decode()
    assert buyer.legal_name_zh in found and buyer.credit_code in found
    found = client_for(world, "supplier", None).get(search + "华信电子").content.decode()
    assert buyer.legal_name in found
