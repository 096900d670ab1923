"""The session's own Anvil devnet: the right chain id, funded development accounts, a free port."""

import pytest
from django.conf import settings

from chain_adapter.devnet import DEV_ACCOUNTS, chain_id_at, rpc_call

pytestmark = pytest.mark.chain


def test_anvil_answers_with_the_devnet_chain_id(anvil):
    assert chain_id_at(anvil.url) == 31337
    assert settings.ETH_RPC_URL == anvil.url
    assert anvil.process is not None and anvil.process.poll() is None


def test_the_development_accounts_are_funded(anvil):
    accounts = [a.lower() for a in rpc_call(anvil.url, "eth_accounts")]
    for address, _key in DEV_ACCOUNTS:
        assert address.lower() in accounts
        balance = int(rpc_call(anvil.url, "eth_getBalance", [address, "latest"]), 16)
        assert balance >= 1_000 * 10**18  # 10,000 ETH at start; other tests spend gas from these accounts


def test_blocks_are_mined_on_demand(anvil):
    before = int(rpc_call(anvil.url, "eth_blockNumber"), 16)
    rpc_call(anvil.url, "evm_mine")
    assert int(rpc_call(anvil.url, "eth_blockNumber"), 16) == before + 1
