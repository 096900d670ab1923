"""The verification pages: tokens (created and revoked by the holder only), the bill page's links section,
login-only pages by id, the per-address rate limit, the node view cached until the next anchor, bounded log
queries, no RPC URL in any template context, and the demo's mix of format-1 and format-2 bills."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest
from django.test import Client

from bills import services
from bills.errors import BillActionNotPermitted, BillNotFound
from bills.events import event_format
from bills.models import Bill, VerificationToken
from bills.verify_tokens import verification_code, verification_token_create, verification_token_revoke
from chain_adapter import txmanager
from chain_adapter import verify as verifier
from tests.bills import factories as f

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_rate_limit(settings):  # type: ignore[no-untyped-def]
    settings.VERIFY_RATE_LIMIT = 0  # one test turns it on; the others must not depend on their neighbours


def client_for(world: f.World | None = None, user: str | None = None, addr: str = "127.0.0.1") -> Client:
    client = Client(REMOTE_ADDR=addr)
    if user:
        assert world is not None
        client.force_login(world.user(user))
    return client


# ---------------------------------------------------------------------------------------------------------
# Tokens
# ---------------------------------------------------------------------------------------------------------


def test_only_the_holder_creates_and_revokes_verification_links(world):
    bill = f.accepted(world)
    token = verification_token_create(bill_id=bill.pk, actor=world.user("supplier"))
    assert re.fullmatch(r"[A-Za-z0-9_-]{32}", token.token)  # 24 random bytes: 192 bits
    assert token.token != verification_token_create(bill_id=bill.pk, actor=world.user("supplier")).token
    with pytest.raises(BillActionNotPermitted):
        verification_token_create(bill_id=bill.pk, actor=world.user("buyer"))  # the debtor does not hold it
    with pytest.raises(BillNotFound):
        verification_token_create(bill_id=bill.pk, actor=world.user("supplier2"))  # a stranger
    with pytest.raises(BillActionNotPermitted):
        verification_token_revoke(token_id=token.pk, actor=world.user("buyer"))
    with pytest.raises(BillNotFound):
        verification_token_revoke(token_id=token.pk, actor=world.user("supplier2"))
    revoked = verification_token_revoke(token_id=token.pk, actor=world.user("supplier"))
    assert revoked.revoked_at is not None and revoked.revoked_by_user == world.user("supplier")


def test_a_new_holder_may_revoke_links_its_predecessor_shared(world):
    bill = f.listed(world)
    token = verification_token_create(bill_id=bill.pk, actor=world.user("supplier"))
    services.bill_buy(bill_id=bill.pk, actor=world.user("financier"))
    with pytest.raises(BillActionNotPermitted):
        verification_token_revoke(token_id=token.pk, actor=world.user("supplier"))
    assert verification_token_revoke(token_id=token.pk, actor=world.user("financier")).revoked_at


def test_a_token_opens_the_public_page_and_a_revoked_one_says_so(world):
    bill = f.accepted(world)
    token = verification_token_create(bill_id=bill.pk, actor=world.user("supplier"))
    page = client_for().get(f"/verify/t/{token.token}/")
    assert page.status_code == 200
    html = page.content.decode()
    assert str(bill.pk) not in html and bill.number not in html and "<svg" in html
    assert f"/verify/t/{token.token}/bundle.json" in html
    verification_token_revoke(token_id=token.pk, actor=world.user("supplier"))
    for path in (f"/verify/t/{token.token}/", f"/verify/t/{token.token}/bundle.json"):
        gone = client_for().get(path)
        assert gone.status_code == 410 and "revoked by the bill's holder" in gone.content.decode()
        assert str(bill.pk) not in gone.content.decode()


def test_the_bill_page_shows_the_holder_its_links_and_the_forms_work(world):
    bill = f.accepted(world)
    holder = client_for(world, "supplier")
    response = holder.post(f"/verify/links/{bill.pk}/")
    assert response.status_code == 302 and response["Location"] == f"/bills/{bill.pk}/"
    token = VerificationToken.objects.get(bill=bill)
    page = holder.get(f"/bills/{bill.pk}/").content.decode()
    assert f"/verify/t/{token.token}/" in page and "Revoke" in page and "<svg" in page
    code = verification_code(token.token)
    assert code and code in page and f"/verify/t/{token.token}/certificate/" in page  # paper code, certificate
    debtor_page = client_for(world, "buyer").get(f"/bills/{bill.pk}/").content.decode()
    assert token.token not in debtor_page and "Create a verification link" not in debtor_page
    assert code not in debtor_page
    assert client_for(world, "buyer").post(f"/verify/links/{token.pk}/revoke/").status_code == 302
    assert VerificationToken.objects.get(pk=token.pk).revoked_at is None  # refused, with a message
    assert client_for(world, "supplier2").post(f"/verify/links/{token.pk}/revoke/").status_code == 404
    holder.post(f"/verify/links/{token.pk}/revoke/")
    assert VerificationToken.objects.get(pk=token.pk).revoked_at is not None
    assert token.token not in holder.get(f"/bills/{bill.pk}/").content.decode()


# ---------------------------------------------------------------------------------------------------------
# Pages by id, rate limit, context
# ---------------------------------------------------------------------------------------------------------


def test_the_page_by_id_is_for_those_who_may_see_the_bill(world):
    listed, accepted = f.listed(world), f.accepted(world)
    assert client_for().get(f"/verify/{listed.pk}/").status_code == 302  # to the login page
    assert client_for(world, "supplier").get(f"/verify/{listed.pk}/").status_code == 200
    financier = client_for(world, "financier2")
    page = financier.get(f"/verify/{listed.pk}/")  # a listing: the financier profile
    assert page.status_code == 200 and page.context["profile"] == "financier"
    assert financier.get(f"/verify/{accepted.pk}/").status_code == 404
    assert financier.get(f"/verify/{accepted.pk}/bundle.json").status_code == 404


def test_public_pages_are_rate_limited_per_client_address(world, settings):
    settings.VERIFY_RATE_LIMIT = 3
    settings.VERIFY_RATE_WINDOW_SECONDS = 600
    token = verification_token_create(bill_id=f.accepted(world).pk, actor=world.user("supplier"))
    net = uuid.uuid4().int % 250 + 1  # addresses of this run only: counts live in the shared cache
    one, other = client_for(addr=f"10.{net}.0.1"), client_for(addr=f"10.{net}.0.2")
    assert [one.get(f"/verify/t/{token.token}/").status_code for _ in range(3)] == [200, 200, 200]
    refused = one.get(f"/verify/t/{token.token}/bundle.json")
    assert refused.status_code == 429 and 0 < int(refused["Retry-After"]) <= 600
    assert one.get("/verify/tx/0x" + "ab" * 32 + "/").status_code == 429
    assert other.get(f"/verify/t/{token.token}/").status_code == 200


def flatten(context: Any) -> list[Any]:
    values: list[Any] = []
    for layer in context:
        for value in (layer.values() if isinstance(layer, dict) else [layer]):
            values.append(value)
    return values


def test_no_rpc_url_reaches_a_template(world, settings):
    settings.ETH_RPC_URL = "http://rpc-secret.invalid:8545/key-abc"
    bill = f.listed(world)
    token = verification_token_create(bill_id=bill.pk, actor=world.user("supplier"))
    for client, path in ((client_for(), f"/verify/t/{token.token}/"),
                         (client_for(world, "regulator"), f"/verify/{bill.pk}/")):
        response = client.get(path)
        assert response.status_code == 200
        assert "rpc-secret" not in response.content.decode()
        for value in flatten(response.context):
            assert "rpc-secret" not in repr(value)[:100_000], path


# ---------------------------------------------------------------------------------------------------------
# The node's view, cached until the next anchor
# ---------------------------------------------------------------------------------------------------------


@pytest.fixture
def rpc_calls(monkeypatch):
    calls: list[tuple[str, list[Any]]] = []
    original = verifier._Rpc.__call__

    def counting(self, method, params):  # type: ignore[no-untyped-def]
        calls.append((method, params))
        return original(self, method, params)

    monkeypatch.setattr(verifier._Rpc, "__call__", counting)
    return calls


def anchor_all(settings) -> None:  # type: ignore[no-untyped-def]
    settings.ANCHOR_MAX_WAIT_SECONDS = 0
    txmanager.run_once()


@pytest.mark.chain
def test_anonymous_pages_cost_the_node_nothing_until_the_next_anchor(world, anvil, anchor_contract, settings,
                                                                      rpc_calls, monkeypatch):
    bill = f.accepted(world)
    anchor_all(settings)
    token = verification_token_create(bill_id=bill.pk, actor=world.user("supplier"))
    anonymous = client_for()
    first = anonymous.get(f"/verify/t/{token.token}/")
    assert 'data-verdict="verified"' in first.content.decode()
    fetched = len(rpc_calls)
    assert fetched >= 3
    for _ in range(5):
        assert 'data-verdict="verified"' in anonymous.get(f"/verify/t/{token.token}/").content.decode()
    anonymous.get(f"/verify/t/{token.token}/bundle.json")
    assert len(rpc_calls) == fetched  # from the cache
    # Log queries are bounded by the bill's anchored blocks, never 0..latest.
    [logs] = [params[0] for method, params in rpc_calls if method == "eth_getLogs"]
    blocks = sorted(e.anchor.block_number for e in bill.events.all())
    assert (int(logs["fromBlock"], 16), int(logs["toBlock"], 16)) == (blocks[0], blocks[-1])

    services.bill_list(bill_id=bill.pk, actor=world.user("supplier"), rate="0.04")
    pending = anonymous.get(f"/verify/t/{token.token}/").content.decode()
    assert 'data-verdict="pending"' in pending and len(rpc_calls) == fetched  # no new anchor: same view
    anchor_all(settings)
    assert 'data-verdict="verified"' in anonymous.get(f"/verify/t/{token.token}/").content.decode()
    assert len(rpc_calls) > fetched  # a new anchor, a new view

    # The transaction page: a receipt is read once.
    from chain_adapter.client import ChainClient

    reads: list[str] = []
    original = ChainClient.receipt
    monkeypatch.setattr(ChainClient, "receipt", lambda self, h: reads.append(h) or original(self, h))
    tx = bill.events.get(seq=1).anchor.tx_hash
    for _ in range(3):
        page = anonymous.get(f"/verify/tx/{tx}/").content.decode()
        assert bill.bill_key in page and str(bill.pk) not in page and bill.number not in page
    assert reads == [tx]


@pytest.mark.chain
def test_an_unreachable_node_is_asked_once_per_error_window(world, anvil, anchor_contract, settings, rpc_calls):
    bill = f.accepted(world)
    anchor_all(settings)
    settings.ETH_RPC_URL = "http://127.0.0.1:9/"
    token = verification_token_create(bill_id=bill.pk, actor=world.user("supplier"))
    for _ in range(3):
        html = client_for().get(f"/verify/t/{token.token}/").content.decode()
        assert 'data-verdict="unknown"' in html and "127.0.0.1:9" not in html
    assert len(rpc_calls) == 1


# ---------------------------------------------------------------------------------------------------------
# Both formats in the demo and on the pages
# ---------------------------------------------------------------------------------------------------------


def test_the_demo_shows_both_formats_and_their_pages_render(db):
    from finance_portal.portal.demo import load_demo_business, load_demo_organizations

    load_demo_business(load_demo_organizations())
    formats = {b.reference: {event_format(e) for e in b.events.all()} for b in Bill.objects.all()}
    assert formats["DEMO-S08"] == {1} and formats["DEMO-S10"] == {1} and formats["DEMO-S09"] == {1, 2}
    assert formats["DEMO-S04"] == {2}
    from django.contrib.auth import get_user_model

    regulator = Client()
    regulator.force_login(get_user_model().objects.get(username="regulator"))
    for reference in ("DEMO-S08", "DEMO-S09", "DEMO-S04"):
        bill = Bill.objects.get(reference=reference)
        page = regulator.get(f"/verify/{bill.pk}/")
        assert page.status_code == 200 and bill.number in page.content.decode()
        formats_shown = set(re.findall(r'data-format="(\d)"', page.content.decode()))
        assert formats_shown == {str(v) for v in formats[reference]}
