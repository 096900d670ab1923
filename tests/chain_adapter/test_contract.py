"""BillAnchor's behaviour on a real Anvil: the head check, anchorer accounts, batches, events."""

import pytest

from chain_adapter.devnet import DEV_ACCOUNTS
from chain_adapter.errors import ContractReverted
from chain_adapter.hashing import ZERO_HASH, keccak256_hex
from tests.chain_adapter.helpers import b32, chains, client_for, send

pytestmark = [pytest.mark.chain, pytest.mark.django_db]

OWNER = 0
OTHER = 1


def anchor(client, contract, links):
    keys, prevs, hashes = zip(*links, strict=True)
    return send(client, contract, "anchor", [[b32(k) for k in keys], [b32(p) for p in prevs],
                                             [b32(h) for h in hashes]])


def test_anchor_moves_the_head_and_emits_anchored(anvil, anchor_contract):
    client = client_for(anvil.url)
    key, event = keccak256_hex("c-key"), keccak256_hex("c-event")
    receipt = anchor(client, anchor_contract.address, [(key, ZERO_HASH, event)])
    assert receipt.status == 1
    [log] = receipt.anchored(anchor_contract.address)
    assert (log.key, log.prev_hash, log.event_hash) == (key, ZERO_HASH, event)
    assert client.head(anchor_contract.address, key) == event


def test_a_prev_hash_that_is_not_the_head_reverts(anvil, anchor_contract):
    client = client_for(anvil.url)
    key, first = keccak256_hex("fork-key"), keccak256_hex("fork-1")
    anchor(client, anchor_contract.address, [(key, ZERO_HASH, first)])
    with pytest.raises(ContractReverted) as fork:  # a second "first event": a fork of the history
        anchor(client, anchor_contract.address, [(key, ZERO_HASH, keccak256_hex("fork-1b"))])
    assert fork.value.error_name == "HeadMismatch" and fork.value.error_args["current"] == first
    with pytest.raises(ContractReverted, match="HeadMismatch"):  # a replay of the same link
        anchor(client, anchor_contract.address, [(key, ZERO_HASH, first)])
    assert client.head(anchor_contract.address, key) == first


def test_one_bad_entry_reverts_the_whole_batch(anvil, anchor_contract):
    client = client_for(anvil.url)
    good = (keccak256_hex("batch-good"), ZERO_HASH, keccak256_hex("batch-good-1"))
    bad = (keccak256_hex("batch-bad"), keccak256_hex("not-the-head"), keccak256_hex("batch-bad-1"))
    with pytest.raises(ContractReverted) as caught:
        anchor(client, anchor_contract.address, [good, bad])
    assert caught.value.error_args["index"] == 1
    assert client.head(anchor_contract.address, good[0]) == ZERO_HASH


def test_a_zero_or_repeated_event_hash_is_refused(anvil, anchor_contract):
    client = client_for(anvil.url)
    key = keccak256_hex("zero-key")
    with pytest.raises(ContractReverted, match="InvalidEventHash"):
        anchor(client, anchor_contract.address, [(key, ZERO_HASH, ZERO_HASH)])


def test_arrays_of_different_lengths_are_refused(anvil, anchor_contract):
    client = client_for(anvil.url)
    with pytest.raises(ContractReverted, match="LengthMismatch"):
        send(client, anchor_contract.address, "anchor", [[b32(keccak256_hex("a"))], [], []])
    with pytest.raises(ContractReverted, match="EmptyBatch"):
        send(client, anchor_contract.address, "anchor", [[], [], []])


def test_an_account_that_is_not_an_anchorer_is_refused(anvil, anchor_contract):
    outsider = client_for(anvil.url, account=OTHER)
    with pytest.raises(ContractReverted) as caught:
        anchor(outsider, anchor_contract.address, [(keccak256_hex("o"), ZERO_HASH, keccak256_hex("o1"))])
    assert caught.value.error_name == "NotAnchorer"
    assert caught.value.error_args["caller"] == DEV_ACCOUNTS[OTHER][0]


def test_the_owner_adds_and_removes_anchorers(anvil, anchor_contract):
    owner, other = client_for(anvil.url, account=OWNER), client_for(anvil.url, account=OTHER)
    address = anchor_contract.address
    send(owner, address, "addAnchorer", [other.address])
    assert owner.is_anchorer(address, other.address)
    key = keccak256_hex("by-other")
    anchor(other, address, [(key, ZERO_HASH, keccak256_hex("by-other-1"))])
    send(owner, address, "removeAnchorer", [other.address])
    assert not owner.is_anchorer(address, other.address)
    with pytest.raises(ContractReverted, match="NotAnchorer"):
        anchor(other, address, [(key, keccak256_hex("by-other-1"), keccak256_hex("by-other-2"))])


def test_only_the_owner_manages_anchorers(anvil, anchor_contract):
    other = client_for(anvil.url, account=OTHER)
    with pytest.raises(ContractReverted) as caught:
        send(other, anchor_contract.address, "addAnchorer", [other.address])
    assert caught.value.error_name == "NotOwner"
    with pytest.raises(ContractReverted, match="NotOwner"):
        send(other, anchor_contract.address, "transferOwnership", [other.address])


def test_a_batch_of_many_entries_with_several_per_key(anvil, anchor_contract):
    client = client_for(anvil.url)
    links = chains("many", keys=60, per_key=5)  # 300 entries, each key's events in order
    receipt = anchor(client, anchor_contract.address, links)
    logs = receipt.anchored(anchor_contract.address)
    assert [(log.key, log.prev_hash, log.event_hash) for log in logs] == links
    assert [log.log_index for log in logs] == sorted(log.log_index for log in logs)
    heads = client.heads(anchor_contract.address, [k for k, _, _ in links])
    for key, _prev, event in links[-60:]:
        assert heads[key] == event
    assert receipt.gas_used / len(links) < 15_000  # 1 first + 4 later events per key, in one transaction
