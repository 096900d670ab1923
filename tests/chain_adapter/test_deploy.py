"""``manage.py deploy_contract``: deploys once per chain id and records where; finds it the second time."""

import io

import pytest
from django.core.management import call_command
from eth_hash.auto import keccak

from chain_adapter.contract import load_artifact
from chain_adapter.errors import DeploymentMismatch
from chain_adapter.models import (
    AnchorRecord,
    AnchorStatus,
    AnchorTransaction,
    ContractDeployment,
    TxStatus,
)
from chain_adapter.services import contract_deploy
from tests.chain_adapter.helpers import client_for, deploy_bytecode

pytestmark = [pytest.mark.chain, pytest.mark.django_db]

# Creation code of a contract whose runtime code returns 42: code, but not BillAnchor's.
OTHER_CONTRACT = "0x600a600c600039600a6000f3602a60005260206000f3"


def test_the_command_deploys_and_records_the_deployment(anvil):
    out = io.StringIO()
    call_command("deploy_contract", stdout=out)
    deployment = ContractDeployment.objects.get()
    client = client_for(anvil.url)
    assert "deployed BillAnchor at " + deployment.address in out.getvalue()
    assert deployment.chain_id == 31337
    assert deployment.deployer == client.address
    assert deployment.block_number >= 1
    code = client.code_at(deployment.address)
    assert code.hex() == load_artifact().deployed_bytecode[2:]
    assert deployment.runtime_code_hash == "0x" + keccak(code).hex()
    assert client.is_anchorer(deployment.address, client.address)


def test_a_second_call_finds_the_existing_deployment(anvil):
    call_command("deploy_contract", stdout=io.StringIO())
    first = ContractDeployment.objects.get()
    out = io.StringIO()
    call_command("deploy_contract", stdout=out)
    assert ContractDeployment.objects.get() == first
    assert "already deployed at " + first.address in out.getvalue()


def test_new_deploys_another_contract_on_request(anvil):
    first = contract_deploy().deployment
    second = contract_deploy(force_new=True).deployment
    assert second.address != first.address
    assert contract_deploy().deployment == second


def test_a_recorded_address_holding_other_code_is_refused(anvil):
    client = client_for(anvil.url)
    other = deploy_bytecode(client, OTHER_CONTRACT)
    ContractDeployment.objects.create(
        chain_id=31337, address=other.contract_address, deployer=client.address, tx_hash=other.tx_hash,
        block_number=other.block_number, runtime_code_hash="0x" + "00" * 32, compiler_version="x",
        source_sha256="00" * 32,
    )
    with pytest.raises(DeploymentMismatch, match="other code"):
        contract_deploy()


def test_a_reset_devnet_gets_a_new_contract_and_its_records_are_queued_again(anvil):
    vanished = ContractDeployment.objects.create(
        chain_id=31337, address="0x" + "12" * 20, deployer="0x" + "34" * 20, tx_hash="0x" + "56" * 32,
        block_number=1, runtime_code_hash=load_artifact().runtime_code_hash, compiler_version="x",
        source_sha256="00" * 32,
    )
    tx = AnchorTransaction.objects.create(
        deployment=vanished, sender="0x" + "34" * 20, nonce=0, raw_tx="0x00", tx_hash="0x" + "78" * 32,
        gas_limit=1, max_fee_per_gas=1, max_priority_fee_per_gas=1, record_count=1,
        status=TxStatus.CONFIRMED, block_number=3,
    )
    record = AnchorRecord.objects.create(
        key="0x" + "9a" * 32, prev_hash="0x" + "00" * 32, event_hash="0x" + "bc" * 32,
        status=AnchorStatus.CONFIRMED, anchor_tx=tx, block_number=3, log_index=0, tx_hash=tx.tx_hash,
    )
    result = contract_deploy()
    assert result.created and result.requeued_records == 1
    assert result.deployment.address != vanished.address
    record.refresh_from_db()
    assert record.status == AnchorStatus.PENDING and record.block_number is None and record.anchor_tx is None
