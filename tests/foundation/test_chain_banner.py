"""The chain banner of signed-in pages: loaded after the page from ``/status/anchoring/``, empty when all is
well, a warning when the node cannot be reached or anchoring lags; the node is probed at most once per cache
period, with a short timeout, and never by anonymous visitors."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.core.cache import cache
from django.test import Client
from django.utils import timezone

from chain_adapter.models import AnchorRecord
from finance_portal.portal import status_views
from tests.bills import factories as f

pytestmark = pytest.mark.django_db

CLOSED = "http://127.0.0.1:9/"  # nothing listens on the discard port


@pytest.fixture(autouse=True)
def _fresh_status():  # type: ignore[no-untyped-def]
    keys = (status_views.FRESH_KEY, status_views.STALE_KEY, status_views.LOCK_KEY)
    cache.delete_many(keys)
    yield
    cache.delete_many(keys)


@pytest.fixture
def world(db: None) -> f.World:
    return f.build_world()


def member(world: f.World, user: str) -> Client:
    client = Client()
    client.force_login(world.user(user))
    return client


def banner(client: Client) -> str:
    response = client.get("/status/anchoring/")
    assert response.status_code == 200 and "no-cache" in response["Cache-Control"]
    return response.content.decode()


def test_signed_in_pages_load_the_banner_after_the_page_and_anonymous_ones_do_not(world):
    page = member(world, "supplier").get("/bills/").content.decode()
    assert re.search(r'<div id="chain-banner"[^>]* hx-get="/status/anchoring/" hx-trigger="load, every 30s"', page)
    assert page.index('id="chain-banner"') < page.index("</main>") and page.index("<main") < page.index("chain-banner")
    assert "chain-banner" not in Client().get("/accounts/login/").content.decode()


def test_anonymous_visitors_get_nothing_and_cost_the_node_nothing(db, monkeypatch):
    asked: list[str] = []
    monkeypatch.setattr(status_views, "rpc", lambda method, params, timeout=None: asked.append(method) or "0x7a69")
    response = Client().get("/status/anchoring/")
    assert response.status_code == 204 and response.content == b"" and asked == []


def test_an_unreachable_node_shows_the_banner_to_every_role(world, settings):
    settings.ETH_RPC_URL = CLOSED
    for user in ("supplier", "buyer", "financier", "regulator", "admin"):
        html = banner(member(world, user))
        assert 'data-chain="unreachable"' in html, user
        assert "The chain node cannot be reached: transitions are recorded and will be anchored when it returns." in html
        assert "127.0.0.1" not in html


@pytest.mark.chain
def test_the_banner_is_empty_when_the_node_answers_and_nothing_lags(world, anvil):
    f.accepted(world)  # records waiting for a few seconds: no lag worth a banner
    assert "data-chain" not in banner(member(world, "supplier"))


@pytest.mark.chain
def test_anchoring_that_lags_shows_by_how_many_minutes(world, anvil, settings):
    settings.CHAIN_STATUS_MAX_LAG_SECONDS = 60
    bill = f.accepted(world)
    AnchorRecord.objects.filter(event_hash__in=list(bill.events.values_list("hash", flat=True))).update(
        created_at=timezone.now() - dt.timedelta(minutes=9, seconds=30))
    html = banner(member(world, "buyer"))
    assert 'data-chain="lagging"' in html and "Anchoring is running 10 minutes behind" in html


def test_the_node_is_probed_once_per_cache_period_with_a_short_timeout(world, monkeypatch, settings):
    settings.CHAIN_STATUS_RPC_TIMEOUT_MS = 500
    asked: list[float | None] = []

    def fake_rpc(method: str, params: list[object], timeout: float | None = None) -> object:
        asked.append(timeout)
        return hex(settings.CHAIN_ID)

    monkeypatch.setattr(status_views, "rpc", fake_rpc)
    client = member(world, "supplier")
    for _ in range(5):
        assert "data-chain" not in banner(client)
    assert asked == [0.5]
    cache.delete(status_views.FRESH_KEY)  # the period ends
    banner(client)
    assert asked == [0.5, 0.5]


def test_while_another_request_probes_the_last_known_status_is_shown_without_asking(world, monkeypatch):
    monkeypatch.setattr(status_views, "rpc", lambda *a, **k: pytest.fail("probed while another request probes"))
    cache.set(status_views.LOCK_KEY, 1, 30)
    client = member(world, "supplier")
    assert "data-chain" not in banner(client)  # nothing known yet: no banner rather than a wait
    cache.set(status_views.STALE_KEY, {"node_ok": False, "lag_minutes": None}, 30)
    assert 'data-chain="unreachable"' in banner(client)


def test_the_banner_reads_in_chinese(world, settings):
    settings.ETH_RPC_URL = CLOSED
    client = member(world, "supplier")
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hans"
    assert "无法连接区块链节点" in banner(client)
