"""Browser hardening on every page for every role: the CSP (no inline script or style), nosniff, frame and
referrer policies; production's DEBUG refusal; a debug page that never shows a key; the token lock-out."""

from __future__ import annotations

import re
import sys

import pytest
from django.core.cache import cache
from django.test import Client, RequestFactory
from django.views.debug import ExceptionReporter

from finance_portal.portal.demo import DEMO_PASSWORD
from tests.conftest import login
from tests.foundation.test_settings import PRODUCTION, manage

pytestmark = pytest.mark.django_db

PAGES = [
    "/", "/accounts/login/", "/bills/", "/bills/new/", "/bills/issue/", "/invoices/", "/invoices/upload/",
    "/marketplace/", "/portfolio/", "/cash/", "/money/", "/oversight/", "/oversight/charts/", "/oversight/data/",
    "/oversight/reconciliation/", "/oversight/audit/", "/ops/worker/", "/api/docs/", "/api/v1/me/", "/healthz",
    "/no-such-page/",
]
USERS = ["supplier", "supplier2", "buyer", "financier", "financier2", "regulator", "admin", None]
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I)
INLINE_HANDLER = re.compile(r"<[^>]+\son[a-z]+\s*=", re.I)


def directives(policy: str) -> dict[str, list[str]]:
    parsed = {}
    for part in policy.split(";"):
        words = part.split()
        if words:
            parsed[words[0]] = words[1:]
    return parsed


def assert_hardened(response, path: str) -> None:  # type: ignore[no-untyped-def]
    where = f"{path} ({response.status_code})"
    assert response["X-Content-Type-Options"] == "nosniff", where
    assert response["X-Frame-Options"] == "DENY", where
    assert response["Referrer-Policy"] == "same-origin", where
    assert "Strict-Transport-Security" not in response, where  # production only
    policy = directives(response["Content-Security-Policy"])
    assert policy["default-src"] == ["'self'"] and policy["frame-ancestors"] == ["'none'"], where
    assert policy["object-src"] == ["'none'"] and policy["base-uri"] == ["'none'"], where
    assert policy["form-action"] == ["'self'"], where
    if path.startswith("/api/docs/"):
        return  # the Swagger UI's inline start-up script: the one documented exception
    assert policy["script-src"] == ["'self'"] and policy["style-src"] == ["'self'"], where
    if response.get("Content-Type", "").startswith("text/html") and not response.streaming:
        html = response.content.decode()
        assert "style=" not in html, f"{where}: an inline style attribute"
        assert "<style" not in html, f"{where}: an inline style element"
        assert not INLINE_SCRIPT.search(html), f"{where}: an inline script"
        assert not INLINE_HANDLER.search(html), f"{where}: an inline event handler"


@pytest.mark.parametrize("username", USERS)
def test_every_main_page_is_hardened_for_every_role(demo_orgs, username):
    client = Client()
    if username:
        login(client, username)
    for path in PAGES:
        response = client.get(path, follow=path == "/")
        assert_hardened(response, path)


def test_the_swagger_ui_alone_may_run_inline_script(demo_orgs):
    response = login(Client(), "admin").get("/api/docs/")
    assert response.status_code == 200
    assert "'unsafe-inline'" in directives(response["Content-Security-Policy"])["script-src"]
    assert "'unsafe-inline'" not in Client().get("/accounts/login/")["Content-Security-Policy"]


def test_production_sends_hsts():
    script = ("from django.test import Client; r = Client().get('/healthz', secure=True, HTTP_HOST='portal.example.com');"
              "print(r.status_code, r.get('Strict-Transport-Security'), r.get('Content-Security-Policy', '')[:20])")
    result = manage("shell", "-c", script, env=PRODUCTION)
    assert result.stdout.strip().splitlines()[-1] == (
        "200 max-age=31536000; includeSubDomains; preload default-src 'self';"), result.stdout + result.stderr


@pytest.mark.parametrize("value", ["1", "true", "on"])
def test_production_refuses_debug_naming_the_variable(value):
    result = manage("check", env={**PRODUCTION, "DEBUG": value})
    assert result.returncode == 2, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "DEBUG" in lines[0], result.stderr


def _debug_page(settings, request) -> str:  # type: ignore[no-untyped-def]
    private_key = settings.ANCHOR_PRIVATE_KEY  # a local of the failing frame, as in a chain client
    rpc = "https://user:hunter2secret@rpc.example.com/v3/abcdef"
    try:
        raise RuntimeError(f"the node refused {rpc}")
    except RuntimeError:
        reporter = ExceptionReporter(request, *sys.exc_info())
        assert private_key and rpc
        return reporter.get_traceback_html()


def test_the_debug_page_masks_keys_mnemonics_and_url_passwords(settings):
    settings.DEBUG = True
    settings.ETH_RPC_URL = "https://user:hunter2secret@rpc.example.com/v3/abcdef0123456789"
    settings.ANCHOR_MNEMONIC = "test test test test test test test test test test test junk"
    settings.BACKUP_DATABASE = "postgres://app:s3cretpass@db.example.com/fp"
    request = RequestFactory().get("/bills/", HTTP_X_ANCHOR_PRIVATE_KEY=settings.ANCHOR_PRIVATE_KEY)
    request.META["ANCHOR_PRIVATE_KEY"] = settings.ANCHOR_PRIVATE_KEY  # the environment, under runserver
    html = _debug_page(settings, request)
    key_hex = settings.ANCHOR_PRIVATE_KEY.lower().removeprefix("0x")
    assert "ANCHOR_PRIVATE_KEY" in html and "DEV_ACCOUNTS" in html  # the names are listed, masked
    assert key_hex not in html.lower()
    assert "test test test" not in html
    assert "s3cretpass" not in html
    assert "abcdef0123456789" not in html
    from chain_adapter.devnet import DEV_PRIVATE_KEYS

    for dev_key in DEV_PRIVATE_KEYS:
        assert dev_key.lower().removeprefix("0x") not in html.lower()
    assert settings.SECRET_KEY not in html


def _token_post(client: Client, password: str):  # type: ignore[no-untyped-def]
    return client.post("/api/v1/auth/token/", {"username": "financier", "password": password},
                       content_type="application/json", REMOTE_ADDR="10.20.30.40")


def test_the_token_endpoint_locks_out_in_json_with_the_duration(demo_orgs, settings):
    cache.delete("throttle_auth_token_10.20.30.40")
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert _token_post(client, "wrong").status_code == 400
    assert _token_post(client, "wrong").status_code == 429  # the failure that reaches the limit
    response = _token_post(client, DEMO_PASSWORD)  # locked: even the right password is refused
    assert response.status_code == 429
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert set(body) == {"detail", "code"} and body["code"] == "locked_out"
    assert "15 minutes" in body["detail"]  # AXES_COOLOFF_TIME = 0.25 h
    assert response["Retry-After"] == "900"
    cache.delete("throttle_auth_token_10.20.30.40")


def test_the_login_page_keeps_its_html_lock_out_page(demo_orgs, settings):
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post("/accounts/login/", {"username": "buyer", "password": "wrong"})
    response = client.post("/accounts/login/", {"username": "buyer", "password": DEMO_PASSWORD})
    assert response.status_code == 429
    assert response["Content-Type"].startswith("text/html")
    assert b"Too many failed log-in attempts" in response.content


def test_no_template_or_chart_uses_inline_style_or_script():
    """Pages with data render markup the page walk above may not reach: no template, and no chart, may hold it."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    sources = [p for d in ("templates", "bills", "invoices", "sme_credit", "chain_adapter", "finance_portal")
               for p in (root / d).rglob("*.html")]
    sources += [root / "finance_portal" / "charts.py"]
    assert len(sources) > 20
    for source in sources:
        text = source.read_text()
        assert "style=" not in text and "<style" not in text, source
        assert not INLINE_SCRIPT.search(text) and not INLINE_HANDLER.search(text), source
