"""The public verification pages in a real browser, on a phone and on paper: the verdict first, the proof
folded below, the code form and the certificate at 390 px with no sideways scroll, the certificate's Print
button (a static script under the CSP) and its print stylesheet, and a typed code leading to the page."""

from __future__ import annotations

import pytest

from bills.verify_tokens import verification_code, verification_token_create
from tests.bills import factories as f
from tests.e2e.conftest import screenshot

pytestmark = pytest.mark.django_db(transaction=True)

PHONE = {"width": 390, "height": 844}


@pytest.fixture
def phone(browser, live_server):  # type: ignore[no-untyped-def]
    context = browser.new_context(viewport=PHONE, base_url=live_server.url)
    pg = context.new_page()
    yield pg
    context.close()


def fits(page) -> bool:  # type: ignore[no-untyped-def]
    return bool(page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"))


def test_a_paper_copy_is_verified_by_its_typed_code_on_a_phone_and_prints_cleanly(phone):
    world = f.build_world()
    bill = f.financed(world, face="98765.43")
    token = verification_token_create(bill_id=bill.pk, actor=world.user("financier"))
    code = verification_code(token.token)
    assert code is not None
    errors: list[str] = []
    phone.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)

    phone.goto("/verify/code/")
    assert fits(phone)
    phone.fill("#id_code", code.lower().replace("-", " "))
    phone.click("main button[type=submit]")
    phone.wait_for_load_state()
    assert phone.url.endswith(f"/verify/t/{token.token}/")
    assert phone.is_visible(".plain-verdict h2") and not phone.is_visible("details.proof tbody")
    assert fits(phone)
    screenshot(phone, "phone-verify-plain")

    phone.goto(f"/verify/t/{token.token}/certificate/")
    assert fits(phone) and phone.inner_text(".vcode-large") == code
    phone.evaluate("() => { window.__printed = 0; window.print = () => { window.__printed += 1; }; }")
    phone.click("[data-print]")
    assert phone.evaluate("window.__printed") == 1  # the static script's handler, not an inline one
    screenshot(phone, "phone-certificate")
    phone.emulate_media(media="print")
    assert not phone.is_visible(".topbar") and not phone.is_visible("[data-print]")
    assert phone.is_visible(".certificate-qr [role=img]") and phone.is_visible(".vcode-large")
    assert not [e for e in errors if "Content Security Policy" in e], errors
