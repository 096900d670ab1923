"""Django admin in Simplified Chinese: platform staff see our models' names, column headers, field labels,
actions and messages in Chinese (Django's own admin UI comes from Django's catalogue), and in English without
the language cookie. The labels are the models' verbose names, so a page's English wording must be gone in
Chinese, not merely joined by a translation."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.test import Client
from django.utils import translation

from bills.models import Bill, BillEvent
from chain_adapter.models import AnchorRecord
from finance_portal.bootstrap import compile_messages
from finance_portal.ledger.models import JournalEntry
from finance_portal.organizations.models import Organization
from finance_portal.oversight.models import FreezeRequest, OversightFlag
from finance_portal.portal.models import WorkerProbe
from invoices.models import ImportJob, Invoice
from tests.bills.factories import World, accepted, build_world

pytestmark = pytest.mark.django_db

ZH = "zh-hans"


@pytest.fixture(scope="module", autouse=True)
def _compiled() -> None:
    compile_messages()
    translation.trans_real._translations = {}  # forget catalogues loaded before the .mo existed
    translation.trans_real._default = None


@pytest.fixture
def world() -> World:
    return build_world()


def staff(world: World, language: str | None) -> Client:
    client = Client()
    client.force_login(world.user("admin"))
    if language:
        client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    return client


def records(world: World, bill: Bill) -> None:
    """A row in the lists that the bill's story leaves empty (an empty changelist shows no column headers)."""
    now = bill.created_at
    ImportJob.objects.create(organization=world.org("supplier"), file_name="march.csv", format="csv", total_rows=1)
    WorkerProbe.objects.create(worker="celery@host")
    OversightFlag.objects.create(rule="amount_outlier", subject=f"bill:{bill.pk}", bill=bill, severity="high",
                                 explanation="far outside", first_seen=now, last_seen=now)
    FreezeRequest.objects.create(bill=bill, requested_by=world.user("regulator"), organization=world.org("regulator"),
                                 reason="court order", requested_at=now)


def page(client: Client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, url
    return response.content.decode()


def test_the_admin_index_names_our_models_in_chinese(world: World) -> None:
    text = page(staff(world, ZH), "/admin/")
    for label in ("票据事件", "上链记录", "上链交易", "机构审计日志条目", "会计分录", "导入任务", "审计记录",
                  "监管预警", "冻结请求", "成员资格", "后台进程探测"):
        assert label in text, label
    for english in ("Bill events", "Anchor records", "Anchor transactions", "Journal entries", "Import jobs",
                    "Audit records", "Oversight flags", "Freeze requests", "Memberships", "Worker probes"):
        assert english not in text, english
    # The apps' headings and the site's own title too.
    for label in ("数字票据", "链上锚定", "资金账本", "机构与成员", "供应链金融平台：管理后台"):
        assert label in text, label
    for english in ("Digital bills", "Chain anchoring", "Cash ledger", "Supply-chain finance portal: administration"):
        assert english not in text, english


def test_the_admin_index_names_our_models_in_english_by_default(world: World) -> None:
    text = page(staff(world, None), "/admin/")
    for label in ("Bill events", "Anchor records", "Journal entries", "Organization audit log entries",
                  "Freeze requests", "Worker probes"):
        assert label in text, label
    assert "票据事件" not in text


def test_organizations_show_chinese_columns_fields_and_actions(world: World) -> None:
    client = staff(world, ZH)
    text = page(client, "/admin/organizations/organization/")
    for label in ("法定名称", "统一社会信用代码", "客户身份审核状态", "通过所选机构的客户身份审核", "暂停所选机构"):
        assert label in text, label
    for english in ("Legal name", "Credit code", "Unified social credit code", "Kyc status", "KYC status",
                    "Approve KYC of the selected organizations"):
        assert english not in text, english
    org = Organization.objects.get(pk=world.org("supplier").pk)
    text = page(client, f"/admin/organizations/organization/{org.pk}/change/")
    for label in ("法定名称", "中文法定名称", "统一社会信用代码", "核心企业", "客户身份审核备注", "成员资格"):
        assert label in text, label
    for english in ("Legal name", "Legal name in Chinese", "Is supplier", "Kyc note"):
        assert english not in text, english


def test_an_action_message_is_in_chinese(world: World) -> None:
    org = world.org("supplier")
    response = staff(world, ZH).post("/admin/organizations/organization/", {
        "action": "approve_kyc", "_selected_action": [str(org.pk)]}, follow=True)
    text = response.content.decode()
    assert response.status_code == 200
    assert "1 个机构的状态已设为“已通过”。" in text and "organization(s) set to" not in text


def test_bills_and_their_events_show_chinese_labels(world: World) -> None:
    bill = accepted(world)
    client = staff(world, ZH)
    text = page(client, "/admin/bills/bill/")
    for label in ("票面金额", "到期日", "持票人", "债务人"):
        assert label in text, label
    for english in ("Face value", "Maturity date", "Holder"):
        assert english not in text, english
    text = page(client, f"/admin/bills/bill/{bill.pk}/change/")
    for label in ("票据键（链上）", "哈希链检查", "完好：每个事件均可重算并正确链接", "持票人序号", "票据事件", "上链"):
        assert label in text, label
    for english in ("Bill key (on chain)", "Hash chain check", "sound: every event recomputes", "Holder seq",
                    "Bill events"):
        assert english not in text, english
    event = BillEvent.objects.filter(bill=bill).first()
    assert event is not None
    text = page(client, f"/admin/bills/billevent/{event.pk}/change/")
    for label in ("序号", "规范化文本", "上链记录", "前一哈希"):
        assert label in text, label
    for english in ("Seq", "Canonical text", "Anchor record", "Prev hash"):
        assert english not in text, english


def test_invoices_anchoring_ledger_audit_and_oversight_pages_are_in_chinese(world: World) -> None:
    bill = accepted(world)
    records(world, bill)
    client = staff(world, ZH)
    invoice = Invoice.objects.filter(bill_allocations__bill=bill).first()
    assert invoice is not None
    pages = {
        "/admin/invoices/invoice/": (["发票号码", "价税合计"], ["Invoice number", "Total amount"]),
        f"/admin/invoices/invoice/{invoice.pk}/change/": (["不含税金额", "下载（附件）", "发票事件"],
                                                          ["Amount excl tax", "Download (attachment)"]),
        "/admin/invoices/importjob/": (["文件名", "总行数"], ["File name", "Total rows"]),
        "/admin/chain_adapter/anchorrecord/": (["事件哈希", "尝试次数", "重试所选的失败记录"],
                                               ["Event hash", "Attempts", "Retry the selected failed records"]),
        f"/admin/chain_adapter/anchorrecord/{AnchorRecord.objects.first().pk}/change/": (  # type: ignore[union-attr]
            ["前一哈希", "承载（或最近一次承载）该记录的交易。"], ["Prev hash", "The transaction that carries"]),
        "/admin/chain_adapter/anchortransaction/": (["上链交易"], ["Anchor transaction"]),
        "/admin/ledger/account/": (["余额", "种类"], ["Balance"]),
        "/admin/ledger/journalentry/": (["摘要", "被冲正的分录"], ["Memo", "Reverses"]),
        "/admin/ledger/journalentry/deposit/": (["登记存入", "小数金额，例如 10000.00。"],
                                                ["A decimal amount such as"]),
        "/admin/audit/auditrecord/": (["HTTP 方法", "状态码", "远程地址"], ["Remote addr", "Status code"]),
        "/admin/oversight/oversightflag/": (["严重程度", "最近发现"], ["Severity", "Last seen"]),
        "/admin/oversight/freezerequest/": (["请求时间", "驳回所选请求（附备注）", "备注（驳回时必填）"],
                                            ["Requested at", "Note (required to decline)"]),
        "/admin/portal/workerprobe/": (["处理时间", "后台进程"], ["Processed at", "Worker"]),
    }
    for url, (chinese, english) in pages.items():
        text = page(client, url)
        for label in chinese:
            assert label in text, (url, label)
        for label in english:
            assert label not in text, (url, label)
    entry = JournalEntry.objects.first()
    assert entry is not None
    text = page(client, f"/admin/ledger/journalentry/{entry.pk}/change/")
    assert "记账行" in text and "Postings" not in text


def test_the_same_pages_keep_their_english_labels(world: World) -> None:
    bill = accepted(world)
    records(world, bill)
    client = staff(world, None)
    pages = {
        "/admin/organizations/organization/": ["Legal name", "Unified social credit code", "KYC status"],
        "/admin/bills/bill/": ["Face value", "Maturity date", "Holder"],
        f"/admin/bills/bill/{bill.pk}/change/": ["Bill key (on chain)", "Hash chain check", "Bill events"],
        "/admin/chain_adapter/anchorrecord/": ["Event hash", "Attempts", "Retry the selected failed records"],
        "/admin/ledger/account/": ["Balance"],
        "/admin/oversight/freezerequest/": ["Requested at", "Note (required to decline)"],
    }
    for url, labels in pages.items():
        text = page(client, url)
        for label in labels:
            assert label in text, (url, label)
        assert "票" not in text and "机构" not in text, url
