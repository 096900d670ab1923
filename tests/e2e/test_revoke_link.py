"""Revoking a verification link closes it for everyone who holds it, paper certificates and QR codes included,
so the bill page asks first: a dismissed question sends nothing, a confirmed one revokes (Chromium, the
portal's CSP, the page's own script)."""

from __future__ import annotations

import pytest

from bills.models import VerificationToken
from bills.verify_tokens import verification_token_create
from tests.bills import factories as f
from tests.e2e.conftest import browser_login

pytestmark = pytest.mark.django_db(transaction=True)


def test_revoking_a_link_asks_first_and_only_a_yes_revokes(page):  # type: ignore[no-untyped-def]
    world = f.build_world()
    bill = f.accepted(world)
    token = verification_token_create(bill_id=bill.pk, actor=world.user("supplier"))
    browser_login(page, "supplier")
    page.goto(f"/bills/{bill.pk}/")
    questions: list[str] = []
    answers = iter([False, True])

    def answer(dialog):  # type: ignore[no-untyped-def]
        questions.append(dialog.message)
        dialog.accept() if next(answers) else dialog.dismiss()

    page.on("dialog", answer)
    revoke = page.locator(".verification-link form button[type=submit]")
    url = page.url
    revoke.click()
    page.wait_for_load_state("networkidle")
    assert questions and "open nothing any more" in questions[0]
    assert page.url == url and revoke.count() == 1
    token.refresh_from_db()
    assert token.revoked_at is None  # "no": nothing was sent

    with page.expect_navigation():
        revoke.click()
    assert len(questions) == 2
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert "Verification link revoked" in page.inner_text(".messages")
    assert page.locator(".verification-link").count() == 0
    assert VerificationToken.objects.filter(bill=bill, revoked_at__isnull=True).count() == 0
