"""Sliding sessions (finance_portal/portal/sessions.py): a request renews the session at most once every
SESSION_RENEW_SECONDS, so an idle session still ends after SESSION_COOKIE_AGE and a busy one costs no session
write per request."""

from __future__ import annotations

import datetime as dt

import pytest
from django.conf import settings
from django.contrib.sessions.models import Session
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from finance_portal.portal import sessions
from tests.bills.factories import World, build_world
from tests.conftest import login

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(db: None) -> World:
    return build_world()


def _session_writes(ctx: CaptureQueriesContext) -> list[str]:
    return [q["sql"] for q in ctx.captured_queries
            if '"django_session"' in q["sql"] and not q["sql"].lstrip().upper().startswith("SELECT")]


def _signed_in(username: str = "supplier") -> tuple[Client, Session]:
    client = Client()
    login(client, username)
    assert client.get("/home/supplier/").status_code == 200
    return client, Session.objects.get(session_key=client.session.session_key)


def test_a_request_within_the_minute_writes_no_session_and_sends_no_cookie(world):
    client, before = _signed_in()
    with CaptureQueriesContext(connection) as ctx:
        response = client.get("/home/supplier/")
    assert response.status_code == 200
    assert _session_writes(ctx) == []
    assert settings.SESSION_COOKIE_NAME not in response.cookies
    assert Session.objects.get(pk=before.pk).expire_date == before.expire_date


def test_a_request_after_the_minute_renews_the_session_and_its_cookie(world, monkeypatch):
    client, before = _signed_in()
    later = sessions._now() + settings.SESSION_RENEW_SECONDS
    monkeypatch.setattr(sessions, "_now", lambda: later)
    with CaptureQueriesContext(connection) as ctx:
        response = client.get("/home/supplier/")
    assert response.status_code == 200
    assert any(sql.lstrip().upper().startswith("UPDATE") for sql in _session_writes(ctx))
    cookie = response.cookies[settings.SESSION_COOKIE_NAME]
    assert int(cookie["max-age"]) == settings.SESSION_COOKIE_AGE
    after = Session.objects.get(pk=before.pk)
    assert after.expire_date > before.expire_date
    remaining = after.expire_date - timezone.now()
    assert dt.timedelta(minutes=29) < remaining <= dt.timedelta(minutes=30)
    monkeypatch.setattr(sessions, "_now", lambda: later + 1)  # renewed just now: the next request writes nothing
    with CaptureQueriesContext(connection) as ctx:
        assert client.get("/home/supplier/").status_code == 200
    assert _session_writes(ctx) == []


def test_a_clock_that_went_backwards_renews_rather_than_trusting_the_stamp(world, monkeypatch):
    client, _ = _signed_in()
    monkeypatch.setattr(sessions, "_now", lambda: 1_000)  # earlier than the stamp written at sign-in
    with CaptureQueriesContext(connection) as ctx:
        assert client.get("/home/supplier/").status_code == 200
    assert _session_writes(ctx)


def test_an_idle_session_still_ends(world):
    client, session = _signed_in()
    Session.objects.filter(pk=session.pk).update(expire_date=timezone.now() - dt.timedelta(seconds=1))
    response = client.get("/home/supplier/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_signing_out_leaves_no_session_behind(world):
    client, session = _signed_in()
    response = client.post("/accounts/logout/")
    assert response.status_code in (200, 302)
    assert not Session.objects.filter(pk=session.pk).exists()
    with CaptureQueriesContext(connection) as ctx:
        anonymous = client.get("/accounts/login/")
    assert anonymous.status_code == 200 and _session_writes(ctx) == []


def test_anonymous_visitors_get_no_session_row(db):
    client = Client()
    before = Session.objects.count()
    assert client.get("/accounts/login/").status_code == 200
    assert Session.objects.count() == before
