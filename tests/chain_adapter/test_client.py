"""The chain client: chain id and key checks at connect, error mapping, signing, gas, receipts."""

import secrets

import pytest

from chain_adapter.client import ChainClient
from chain_adapter.contract import anchor_calldata
from chain_adapter.devnet import DEV_ACCOUNTS, Anvil, free_port
from chain_adapter.errors import (
    ChainIdMismatch,
    ContractReverted,
    DevKeyRefused,
    NonceConsumed,
    TransientChainError,
)
from chain_adapter.hashing import ZERO_HASH, keccak256_hex
from tests.chain_adapter.helpers import client_for

pytestmark = pytest.mark.chain

DEV_KEY = DEV_ACCOUNTS[0][1]


@pytest.fixture(scope="module")
def mainnet_id_anvil():
    """An Anvil that calls itself chain id 1, as a non-devnet node would."""
    node = Anvil(chain_id=1).start()
    yield node
    node.stop()


def test_connect_returns_the_node_chain_id(anvil):
    assert client_for(anvil.url).connect() == 31337


def test_a_node_with_another_chain_id_is_refused(anvil):
    client = ChainClient(rpc_url=anvil.url, chain_id=1337, private_key=DEV_KEY)
    with pytest.raises(ChainIdMismatch, match="31337.*1337"):
        client.connect()


def test_the_dev_key_is_refused_for_a_non_devnet_chain_id():
    with pytest.raises(DevKeyRefused):
        ChainClient(rpc_url="http://127.0.0.1:1", chain_id=1, private_key=DEV_KEY)
    for _address, key in DEV_ACCOUNTS:  # every public dev key, with or without 0x
        with pytest.raises(DevKeyRefused):
            ChainClient(rpc_url="http://127.0.0.1:1", chain_id=1, private_key=key[2:])


def test_the_dev_key_is_refused_by_a_node_that_is_not_a_devnet(mainnet_id_anvil):
    # Configured as a devnet, but the node answers chain id 1: the chain id check refuses it first.
    with pytest.raises(ChainIdMismatch):
        ChainClient(rpc_url=mainnet_id_anvil.url, chain_id=31337, private_key=DEV_KEY).connect()
    # Even if the operator lists 1 among the devnets, the node's answer decides for the dev key.
    client = ChainClient(rpc_url=mainnet_id_anvil.url, chain_id=1, private_key=DEV_KEY,
                         devnet_chain_ids=frozenset({1, 31337}))
    client.devnet_chain_ids = frozenset({31337})
    with pytest.raises(DevKeyRefused, match="chain id 1"):
        client.connect()


def test_a_key_of_ones_own_is_accepted_on_a_non_devnet_chain(mainnet_id_anvil):
    client = ChainClient(rpc_url=mainnet_id_anvil.url, chain_id=1, private_key="0x" + secrets.token_hex(32))
    assert client.connect() == 1


def test_an_unreachable_node_is_a_transient_error():
    client = ChainClient(rpc_url=f"http://127.0.0.1:{free_port()}", chain_id=31337, private_key=DEV_KEY,
                         timeout=2)
    with pytest.raises(TransientChainError, match="unreachable"):
        client.connect()


def test_gas_is_estimated_with_a_margin(anvil, anchor_contract):
    client = client_for(anvil.url)
    data = anchor_calldata([keccak256_hex("gas-key")], [ZERO_HASH], [keccak256_hex("gas-event")])
    raw = int(client.w3.eth.estimate_gas({"from": client.address, "to": anchor_contract.address, "data": data}))
    assert client.estimate_gas(to=anchor_contract.address, data=data) >= raw * 6 // 5


def test_a_call_the_contract_refuses_is_decoded(anvil, anchor_contract):
    client = client_for(anvil.url)
    key = keccak256_hex("decoded-key")
    data = anchor_calldata([key], [keccak256_hex("not-the-head")], [keccak256_hex("e")])
    with pytest.raises(ContractReverted) as caught:
        client.estimate_gas(to=anchor_contract.address, data=data)
    assert caught.value.error_name == "HeadMismatch"
    assert caught.value.error_args["billKey"] == key
    assert caught.value.error_args["current"] == ZERO_HASH


def test_the_same_signed_bytes_anchor_once(anvil, anchor_contract):
    client = client_for(anvil.url)
    key, event = keccak256_hex(secrets.token_hex(8)), keccak256_hex(secrets.token_hex(8))
    data = anchor_calldata([key], [ZERO_HASH], [event])
    signed = client.sign(to=anchor_contract.address, data=data, nonce=client.nonce(),
                         gas=client.estimate_gas(to=anchor_contract.address, data=data), fees=client.fees())
    client.broadcast(signed.raw)
    receipt = client.wait_for_receipt(signed.tx_hash, timeout=10)
    assert receipt is not None and receipt.status == 1
    with pytest.raises(NonceConsumed):
        client.broadcast(signed.raw)  # mined already: the node says the nonce is used
    assert client.receipt(signed.tx_hash) == receipt
    [log] = receipt.anchored(anchor_contract.address)
    assert (log.key, log.prev_hash, log.event_hash) == (key, ZERO_HASH, event)
    assert client.head(anchor_contract.address, key) == event


def test_heads_are_read_in_one_batch(anvil, anchor_contract):
    client = client_for(anvil.url)
    keys = [keccak256_hex(f"batch-read-{i}") for i in range(50)]
    assert client.heads(anchor_contract.address, keys) == dict.fromkeys(keys, ZERO_HASH)


def test_a_receipt_of_an_unknown_transaction_is_none(anvil):
    assert client_for(anvil.url).receipt("0x" + "ab" * 32) is None
