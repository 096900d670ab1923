"""The verification pages for a reader who is no expert: the plain verdict and what was checked, a page that
answers 200 "cannot reach the chain right now" when the node is down, the code lookup for paper copies (the
token written for typing: good, mistyped, unknown, revoked and garbage codes), and the printable certificate
that shows the public profile only."""

from __future__ import annotations

import re
import secrets
import uuid

import pytest
from django.template.loader import render_to_string
from django.test import Client
from django.utils import translation

from bills.verification import BillVerdict
from bills.verify_tokens import (
    CODE_ALPHABET,
    CodeError,
    verification_code,
    verification_code_parse,
    verification_token_create,
    verification_token_revoke,
)
from bills.verify_views import plain_verdict
from chain_adapter import txmanager
from chain_adapter.verify_base import EventCheck, VerificationReport
from tests.bills import factories as f

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_rate_limit(settings):  # type: ignore[no-untyped-def]
    settings.VERIFY_RATE_LIMIT = 0


def anonymous(addr: str = "127.0.0.1") -> Client:
    return Client(REMOTE_ADDR=addr)


def anchor_all(settings) -> None:  # type: ignore[no-untyped-def]
    settings.ANCHOR_MAX_WAIT_SECONDS = 0
    txmanager.run_once()


def verdict_block(html: str) -> str:
    match = re.search(r'<section class="plain-verdict.*?</section>', html, flags=re.S)
    assert match, "no plain verdict on the page"
    return match.group(0)


# ---------------------------------------------------------------------------------------------------------
# The plain verdict
# ---------------------------------------------------------------------------------------------------------


def report(*statuses: str, complete: bool = True, problems: list[str] | None = None,
           checked: bool = True) -> VerificationReport:
    events = [EventCheck(seq=i + 1, hash=f"0x{i:064x}", status=s) for i, s in enumerate(statuses)]
    return VerificationReport(bill_id=None, bill_key=None, chain_id=31337, contract="0x" + "1" * 40, events=events,
                              problems=problems or [], complete=complete, checked_on_chain=checked)


@pytest.mark.parametrize("verdict_args, contract, kind, checks", [
    (([], report("ok", "ok")), "0xc", "verified",
     {"records": "passed", "chain": "passed", "steps": "passed", "complete": "passed"}),
    (([], report("ok", "not_anchored", complete=False)), "0xc", "pending",
     {"records": "passed", "chain": "passed", "steps": "waiting", "complete": "waiting"}),
    (([], report("ok", "mismatch")), "0xc", "not_verified",
     {"records": "passed", "chain": "passed", "steps": "failed", "complete": "passed"}),
    (([], report("ok", problems=["the chain holds 1 anchored event(s) of this bill that the bundle lacks"])),
     "0xc", "not_verified", {"records": "passed", "chain": "passed", "steps": "passed", "complete": "failed"}),
    ((["event 2: hash does not follow"], report("ok", "ok")), "0xc", "not_verified",
     {"records": "failed", "chain": "passed", "steps": "passed", "complete": "passed"}),
    (([], None, "the chain could not be reached (refused)"), "0xc", "unreachable",
     {"records": "passed", "chain": "not_checked", "steps": "not_checked", "complete": "not_checked"}),
    (([], None, "no anchoring contract is deployed on this chain yet"), None, "not_set_up",
     {"records": "passed", "chain": "not_checked", "steps": "not_checked", "complete": "not_checked"}),
])
def test_the_plain_verdict_names_the_outcome_and_each_check(world, verdict_args, contract, kind, checks):
    verdict = BillVerdict(f.submitted(world), *verdict_args)
    plain = plain_verdict(verdict, contract=contract)
    assert plain == {"kind": kind, "checks": checks}
    assert list(plain["checks"]) == ["records", "chain", "steps", "complete"]  # the order the page lists them


WORDS = {
    "verified": ("Verified", "nothing is missing and nothing was changed", "已验证"),
    "pending": ("Verified so far", "still being recorded", "目前已验证"),
    "not_verified": ("Not verified", "Do not rely on this bill", "未通过验证"),
    "unreachable": ("Cannot reach the chain right now", "neither confirmed nor contradicted", "暂时无法连接区块链"),
    "not_set_up": ("Cannot check against the chain yet", "cannot be checked", "尚无法对照区块链核验"),
}


@pytest.mark.parametrize("kind", list(WORDS))
def test_each_verdict_reads_in_plain_words_in_both_languages(kind):
    checks = {"records": "passed", "chain": "failed", "steps": "waiting", "complete": "not_checked"}
    context = {"plain": {"kind": kind, "checks": checks}, "verdict": {"status": "x"}, "chain_id": 31337}
    title, meaning, chinese = WORDS[kind]
    with translation.override("en"):
        html = render_to_string("bills/verify_plain.html", context)
    assert f">{title}</h2>" in html and meaning in html
    assert "What was checked" in html and "chain 31337" in html
    assert [s for s in re.findall(r'data-state="(\w+)"', html)] == ["passed", "failed", "waiting", "not_checked"]
    assert all(word in html for word in ("Passed", "Failed", "Not yet", "Not checked"))
    with translation.override("zh-hans"):
        zh = render_to_string("bills/verify_plain.html", context)
    assert f">{chinese}</h2>" in zh and "核验了哪些内容" in zh


@pytest.mark.chain
def test_a_verified_bill_says_verified_first_and_keeps_the_proof_below(world, anvil, anchor_contract, settings):
    bill = f.accepted(world)
    anchor_all(settings)
    token = verification_token_create(bill_id=bill.pk, actor=world.user("supplier"))
    html = anonymous().get(f"/verify/t/{token.token}/").content.decode()
    block = verdict_block(html)
    assert 'data-verdict="verified"' in block and ">Verified</h2>" in block
    assert block.count('data-state="passed"') == 4
    assert html.index("plain-verdict") < html.index('<details class="proof"') < html.index("<tbody>")
    assert html.index('<details class="proof"') < html.index("Check it yourself")


@pytest.mark.chain
def test_a_bill_with_a_transition_not_anchored_yet_is_verified_so_far(world, anvil, anchor_contract, settings):
    bill = f.accepted(world)
    anchor_all(settings)
    token = verification_token_create(bill_id=bill.pk, actor=world.user("supplier"))
    from bills import services

    services.bill_list(bill_id=bill.pk, actor=world.user("supplier"), rate="0.04")
    block = verdict_block(anonymous().get(f"/verify/t/{token.token}/").content.decode())
    assert ">Verified so far</h2>" in block and 'data-check="steps" data-state="waiting"' in block


@pytest.mark.chain
def test_a_node_that_cannot_be_reached_gives_a_200_page_saying_so(world, anvil, anchor_contract, settings):
    bill = f.accepted(world)
    anchor_all(settings)
    settings.ETH_RPC_URL = "http://127.0.0.1:9/"  # nothing listens on the discard port
    token = verification_token_create(bill_id=bill.pk, actor=world.user("supplier"))
    for client, path in ((anonymous(), f"/verify/t/{token.token}/"), (member(world, "supplier"), f"/verify/{bill.pk}/"),
                         (anonymous(), f"/verify/t/{token.token}/certificate/")):
        response = client.get(path)
        assert response.status_code == 200, path
        block = verdict_block(response.content.decode())
        assert "Cannot reach the chain right now" in block and 'data-kind="unreachable"' in block
        assert "127.0.0.1:9" not in response.content.decode()


def test_without_a_contract_the_page_says_it_cannot_check_yet(world):
    token = verification_token_create(bill_id=f.accepted(world).pk, actor=world.user("supplier"))
    response = anonymous().get(f"/verify/t/{token.token}/")
    assert response.status_code == 200
    assert "Cannot check against the chain yet" in verdict_block(response.content.decode())


def member(world: f.World, user: str) -> Client:
    client = Client()
    client.force_login(world.user(user))
    return client


# ---------------------------------------------------------------------------------------------------------
# The verification code
# ---------------------------------------------------------------------------------------------------------


def test_the_code_is_the_whole_token_in_ten_groups_of_four_and_reads_back():
    for _ in range(300):
        token = secrets.token_urlsafe(24)
        code = verification_code(token)
        assert code is not None and re.fullmatch(r"([0-9A-HJKMNP-TV-Z]{4}-){9}[0-9A-HJKMNP-TV-Z]{4}", code)
        assert verification_code_parse(code) == token
        loose = code.lower().replace("-", " ").replace("1", "l").replace("0", "o")
        assert verification_code_parse(f"  {loose}\t") == token
        fullwidth = "".join(chr(ord(c) + 0xFEE0) if c != "-" else "\uff0d" for c in code)
        assert verification_code_parse(fullwidth) == token  # typed with a Chinese input method


def test_every_single_mistyped_character_is_caught():
    code = verification_code(secrets.token_urlsafe(24))
    assert code is not None
    plain = code.replace("-", "")
    for index in range(len(plain)):
        for other in CODE_ALPHABET:
            if other == plain[index]:
                continue
            typo = plain[:index] + other + plain[index + 1:]
            with pytest.raises(CodeError):
                verification_code_parse(typo)


@pytest.mark.parametrize("text, reason", [
    ("", "empty"), ("  - -  ", "empty"), ("ABCD", "format"), ("票据票据-票据", "format"), ("0000\x000000", "format"),
    ("U" * 40, "format"), ("😀" * 10, "format"), ("A" * 5000, "format"), ("zzzz-" * 10, "check"),
])
def test_malformed_codes_are_refused_before_any_lookup(text, reason):
    with pytest.raises(CodeError) as caught:
        verification_code_parse(text)
    assert caught.value.reason == reason


def test_existing_links_keep_working_and_their_code_leads_to_the_same_page(world):
    bill = f.accepted(world)
    token = verification_token_create(bill_id=bill.pk, actor=world.user("supplier"))
    assert anonymous().get(f"/verify/t/{token.token}/").status_code == 200
    code = verification_code(token.token)
    assert code is not None
    for typed in (code, code.lower(), code.replace("-", "")):
        response = anonymous().get("/verify/code/", {"code": typed})
        assert response.status_code == 302 and response["Location"] == f"/verify/t/{token.token}/"
    page = anonymous().get(f"/verify/t/{token.token}/").content.decode()
    assert code in page and f"/verify/t/{token.token}/certificate/" in page


def test_the_lookup_form_has_a_labelled_input(db):
    html = anonymous().get("/verify/code/").content.decode()
    assert '<label for="id_code">' in html and 'id="id_code" name="code"' in html
    assert 'method="get"' in html


def test_an_unknown_code_and_a_revoked_one_say_so_and_nothing_about_a_bill(world):
    bill = f.accepted(world)
    token = verification_token_create(bill_id=bill.pk, actor=world.user("supplier"))
    unknown = anonymous().get("/verify/code/", {"code": verification_code(secrets.token_urlsafe(24))})
    assert unknown.status_code == 404 and 'data-error="unknown"' in unknown.content.decode()
    verification_token_revoke(token_id=token.pk, actor=world.user("supplier"))
    revoked = anonymous().get("/verify/code/", {"code": verification_code(token.token)})
    assert revoked.status_code == 410 and 'data-error="revoked"' in revoked.content.decode()
    for response in (unknown, revoked):
        html = response.content.decode()
        for secret in (str(bill.pk), bill.number, bill.bill_key, token.token, "10,000.00", bill.debtor.legal_name):
            assert secret not in html


@pytest.mark.parametrize("typed", ["", "hello", "0000-0000", "票据", "x\x00y", "\x00", "😀", "A" * 100_000,
                                   "<script>alert(1)</script>", "%00", "0" * 40])
def test_garbage_codes_are_a_clear_4xx_never_a_500(db, typed):
    response = anonymous().get("/verify/code/", {"code": typed})
    assert response.status_code in (400, 404), typed[:20]
    html = response.content.decode()
    assert 'role="alert"' in html and "<script>alert" not in html


@pytest.mark.parametrize("query", ["code=%00", "code=%ED%A0%80", "code=%FF%FE", "code=a&code=b", "code"])
def test_undecodable_query_strings_are_a_4xx_too(db, query):
    assert anonymous().get(f"/verify/code/?{query}").status_code in (400, 404)


def test_a_mistyped_code_is_told_apart_from_an_unknown_one(world):
    token = verification_token_create(bill_id=f.accepted(world).pk, actor=world.user("supplier"))
    code = verification_code(token.token)
    assert code is not None
    typo = code[:-1] + ("A" if code[-1] != "A" else "B")
    response = anonymous().get("/verify/code/", {"code": typo})
    assert response.status_code == 400 and 'data-error="check"' in response.content.decode()


def test_code_lookups_count_against_the_address_rate_limit(world, settings):
    settings.VERIFY_RATE_LIMIT = 2
    settings.VERIFY_RATE_WINDOW_SECONDS = 600
    net = uuid.uuid4().int % 250 + 1
    client = anonymous(addr=f"10.{net}.1.1")
    codes = [verification_code(secrets.token_urlsafe(24)) for _ in range(3)]
    assert [client.get("/verify/code/", {"code": c}).status_code for c in codes] == [404, 404, 429]


# ---------------------------------------------------------------------------------------------------------
# The printable certificate
# ---------------------------------------------------------------------------------------------------------


def test_the_certificate_shows_the_public_facts_only_with_its_code_and_an_accessible_qr(world):
    bill = f.financed(world, face="98765.43")
    token = verification_token_create(bill_id=bill.pk, actor=world.user("financier"))
    for client in (anonymous(), member(world, "financier"), member(world, "regulator")):  # public, whoever prints
        response = client.get(f"/verify/t/{token.token}/certificate/")
        assert response.status_code == 200
        html = response.content.decode()
        assert "98,765.43 CNY" in html and bill.debtor.credit_code in html and bill.debtor.legal_name in html
        assert bill.maturity_date.isoformat() in html and "Financed" in html
        assert verification_code(token.token) in html and "/verify/code/" in html
        assert re.search(r'role="img" aria-label="QR code[^"]+"', html) and "<svg" in html
        assert "data-print" in html and "js/verify.js" in html and "onclick" not in html
        assert re.search(r"Issued \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC\+8", html)
        purchase = bill.purchases.get()
        main = html[html.index("<main"):html.index("</main>")]  # the top bar names the signed-in user's organization
        for secret in (str(bill.pk), bill.number, bill.holder.legal_name, bill.creditor.legal_name,
                       f"{purchase.price:,.2f}", f"{purchase.interest:,.2f}", bill.reference or "\x00"):
            assert secret not in main, secret


def test_the_certificate_of_a_revoked_or_unknown_link_is_not_shown(world):
    token = verification_token_create(bill_id=f.accepted(world).pk, actor=world.user("supplier"))
    verification_token_revoke(token_id=token.pk, actor=world.user("supplier"))
    assert anonymous().get(f"/verify/t/{token.token}/certificate/").status_code == 410
    assert anonymous().get(f"/verify/t/{secrets.token_urlsafe(24)}/certificate/").status_code == 404


def test_the_print_stylesheet_hides_the_page_chrome():
    from pathlib import Path

    css = (Path(__file__).resolve().parents[2] / "finance_portal" / "static" / "css" / "verify.css").read_text()
    printed = css[css.index("@media print"):]
    assert ".topbar" in printed and ".no-print" in printed and ".footer" in printed
