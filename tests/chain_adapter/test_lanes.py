"""Several anchor senders (``ANCHOR_SENDERS``): each bill key belongs to one sender (its lane), each sender has
its own broadcaster and nonce sequence, the owner registers the extra senders as anchorers, and the keys are
checked like the anchor key. In process (``txmanager.run_lanes``: a thread per sender) and through a real
Celery worker, on a real Anvil."""

from __future__ import annotations

import io
import random
from collections import defaultdict

import pytest
from django.core.management import call_command

from chain_adapter import txmanager
from chain_adapter.decisions import lane_of
from chain_adapter.devnet import DEV_ACCOUNTS
from chain_adapter.errors import PermanentChainError
from chain_adapter.models import AnchorRecord, AnchorStatus, AnchorTransaction, TxStatus
from chain_adapter.selectors import deployment_current, in_lane
from chain_adapter.services import _client_for
from finance_portal.env import SettingError
from finance_portal.settings.anchor_keys import extra_sender_keys
from tests.chain_adapter.helpers import (
    all_confirmed,
    assert_anchored_exactly_once,
    chains,
    client_for,
    enqueue,
    wait_for,
)

MAIN_KEY = DEV_ACCOUNTS[0][1]
OWN_KEY = "0x" + "1f" * 32  # not an Anvil key


def _deployment(settings):  # type: ignore[no-untyped-def]
    call_command("deploy_contract", stdout=io.StringIO())
    deployment = deployment_current(chain_id=settings.CHAIN_ID)
    assert deployment is not None
    return deployment


def _assert_one_sender_per_key(accounts: list[int]) -> dict[str, int]:
    """Every key's records were carried by transactions of its lane's sender (``DEV_ACCOUNTS[accounts[lane]]``)
    only; returns records per sender."""
    lanes = len(accounts)
    senders: dict[str, set[str]] = defaultdict(set)
    per_sender: dict[str, int] = defaultdict(int)
    for key, sender in AnchorRecord.objects.values_list("key", "anchor_tx__sender"):
        senders[key].add(sender)
        per_sender[sender] += 1
    for key, used in senders.items():
        assert used == {DEV_ACCOUNTS[accounts[lane_of(key, lanes)]][0]}, (key, used)
    return per_sender


def _assert_nonces_per_sender() -> None:
    for sender in AnchorTransaction.objects.values_list("sender", flat=True).distinct():
        nonces = sorted(AnchorTransaction.objects.filter(sender=sender).exclude(
            status__in=[TxStatus.DROPPED, TxStatus.REPLACED]).values_list("nonce", flat=True))
        assert nonces == list(range(nonces[0], nonces[0] + len(nonces))), sender


# --- the rule and its SQL twin ----------------------------------------------------------------------------

def test_lane_of_is_stable_and_even() -> None:
    keys = ["0x" + random.Random(i).randbytes(32).hex() for i in range(4000)]
    assert all(lane_of(k, 1) == 0 for k in keys[:50])
    for lanes in (2, 3, 4):
        counts = [0] * lanes
        for key in keys:
            counts[lane_of(key, lanes)] += 1
        assert min(counts) > len(keys) / lanes * 0.85, counts  # keccak keys spread evenly
    assert lane_of("0x" + "0" * 57 + "fffffff", 4) == 0xFFFFFFF % 4


@pytest.mark.django_db
def test_sql_lane_agrees_with_python() -> None:
    links = chains("sql-lane", keys=300, per_key=1)
    enqueue(links)
    for lanes in (2, 3, 4):
        for lane in range(lanes):
            in_sql = set(in_lane(AnchorRecord.objects.all(), lane=lane, lanes=lanes).values_list("key", flat=True))
            assert in_sql == {k for k, _p, _e in links if lane_of(k, lanes) == lane}
    assert in_lane(AnchorRecord.objects.all(), lane=0, lanes=1).count() == 300


# --- the keys -----------------------------------------------------------------------------------------------

def test_development_fills_in_anvils_next_accounts() -> None:
    keys = extra_sender_keys(main_key=MAIN_KEY, extra=[], senders=4, chain_id=31337, dev=True)
    assert keys == [key for _a, key in DEV_ACCOUNTS[1:4]]
    assert extra_sender_keys(main_key=MAIN_KEY, extra=[], senders=1, chain_id=31337, dev=True) == []


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"main_key": OWN_KEY, "extra": [], "senders": 2, "chain_id": 1, "dev": False}, "needs exactly 1 keys"),
    ({"main_key": OWN_KEY, "extra": [], "senders": 2, "chain_id": 31337, "dev": True}, "only beside Anvil's"),
    ({"main_key": MAIN_KEY, "extra": [], "senders": 9, "chain_id": 31337, "dev": True}, "fills in at most 3"),
    ({"main_key": OWN_KEY, "extra": [DEV_ACCOUNTS[1][1]], "senders": 2, "chain_id": 1, "dev": False},
     "public development key, refused on chain id 1"),
    ({"main_key": OWN_KEY, "extra": [OWN_KEY.upper().replace("0X", "0x")], "senders": 2, "chain_id": 1,
      "dev": False}, "repeats a key"),
    ({"main_key": OWN_KEY, "extra": ["0x1234"], "senders": 2, "chain_id": 1, "dev": False}, "32 bytes of hex"),
    ({"main_key": OWN_KEY, "extra": [], "senders": 0, "chain_id": 1, "dev": False}, "between 1 and 16"),
    ({"main_key": OWN_KEY, "extra": ["0x" + "2e" * 32], "senders": 3, "chain_id": 1, "dev": False},
     "needs exactly 2 keys"),
])
def test_refused_sender_keys(kwargs, message) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(SettingError, match=message):
        extra_sender_keys(**kwargs)


def test_a_stuck_transaction_is_replaced_with_its_own_senders_key(settings) -> None:  # type: ignore[no-untyped-def]
    settings.ANCHOR_EXTRA_PRIVATE_KEYS = [DEV_ACCOUNTS[1][1], DEV_ACCOUNTS[2][1]]
    for address, _key in DEV_ACCOUNTS[:3]:
        assert _client_for(address).address == address


# --- anchoring with several senders ------------------------------------------------------------------------

@pytest.mark.chain
@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("rpc_outside_transactions")
def test_two_senders_anchor_every_key_through_its_own_sender(anvil, settings, batch) -> None:  # type: ignore[no-untyped-def]
    settings.ANCHOR_EXTRA_PRIVATE_KEYS = [DEV_ACCOUNTS[1][1]]
    batch(25)
    deployment = _deployment(settings)  # registers sender 1 as an anchorer
    assert client_for(anvil.url).is_anchorer(deployment.address, DEV_ACCOUNTS[1][0])
    links = chains("two-lanes", keys=60, per_key=4)
    enqueue(links)
    report = txmanager.run_lanes()
    assert report.records_confirmed == 240 and not report.work_left and not report.stuck_tx_hash
    assert_anchored_exactly_once(anvil, deployment, links)  # per-key order: each head is the key's last hash
    per_sender = _assert_one_sender_per_key([0, 1])
    assert set(per_sender) == {DEV_ACCOUNTS[0][0], DEV_ACCOUNTS[1][0]} and min(per_sender.values()) > 60
    _assert_nonces_per_sender()


@pytest.mark.chain
@pytest.mark.django_db(transaction=True)
def test_an_unregistered_sender_is_refused_until_deploy_contract_registers_it(anvil, settings, batch) -> None:  # type: ignore[no-untyped-def]
    batch(10)
    deployment = _deployment(settings)  # one sender: nobody else registered
    settings.ANCHOR_EXTRA_PRIVATE_KEYS = [DEV_ACCOUNTS[3][1]]
    links = chains("unregistered", keys=20, per_key=2)
    enqueue(links)
    assert txmanager.run_once(lane=0, lanes=2).records_confirmed > 0  # sender 0 anchors its own keys
    with pytest.raises(PermanentChainError, match="is not an anchorer"):
        txmanager.run_once(lane=1, lanes=2)
    waiting = in_lane(AnchorRecord.objects.all(), lane=1, lanes=2)
    assert waiting.exists() and all(r.status == AnchorStatus.PENDING for r in waiting)
    assert _deployment(settings).pk == deployment.pk  # the same contract, sender 1 added
    txmanager.run_lanes()
    assert_anchored_exactly_once(anvil, deployment, links)
    _assert_one_sender_per_key([0, 3])


@pytest.mark.chain
def test_a_worker_with_three_senders_anchors_through_the_doorbell(anvil, settings, anchoring_worker) -> None:  # type: ignore[no-untyped-def]
    settings.ANCHOR_EXTRA_PRIVATE_KEYS = [DEV_ACCOUNTS[1][1], DEV_ACCOUNTS[2][1]]
    deployment = _deployment(settings)
    anchoring_worker(ANCHOR_SENDERS=3, ANCHOR_BATCH_SIZE=20, ANCHOR_MAX_WAIT_SECONDS=0)
    links = chains("three-lanes", keys=90, per_key=3)
    ids = enqueue(links)  # each chunk's commit rings the doorbell
    wait_for(all_confirmed(ids), timeout=90, what="every record confirmed by three senders")
    assert_anchored_exactly_once(anvil, deployment, links)
    assert len(_assert_one_sender_per_key([0, 1, 2])) == 3
    _assert_nonces_per_sender()
