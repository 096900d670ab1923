"""``manage.py deploy_contract``: deploys once per chain id and records where; finds it the second time. The
deployment is a transaction of the broadcaster: its lock, its stored nonce sequence, stored before broadcast."""

import io
import threading

import pytest
from django.core.management import call_command
from eth_hash.auto import keccak

from chain_adapter import txmanager
from chain_adapter.contract import create_address, load_artifact
from chain_adapter.errors import DeploymentMismatch, TransientChainError
from chain_adapter.models import (
    AnchorRecord,
    AnchorStatus,
    AnchorTransaction,
    ContractDeployment,
    TxStatus,
)
from chain_adapter.selectors import deployment_current
from chain_adapter.services import contract_deploy
from tests.chain_adapter.helpers import (
    BroadcastDrops,
    assert_anchored_exactly_once,
    chains,
    client_for,
    deploy_bytecode,
    enqueue,
)

pytestmark = [pytest.mark.chain, pytest.mark.django_db, pytest.mark.usefixtures("rpc_outside_transactions")]

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


def test_a_deployment_beside_the_broadcaster_takes_the_next_nonce_of_the_stored_sequence(anvil, anchor_contract,
                                                                                          batch):
    batch(10)
    links = chains("deploy-beside", keys=2, per_key=2)
    enqueue(links)
    with pytest.raises(TransientChainError):  # stored, never broadcast: the node's pending count lacks it
        txmanager.run_once(client=BroadcastDrops(anvil.url, delivered=False))
    stored = AnchorTransaction.objects.get()
    node = client_for(anvil.url)
    assert node.nonce("pending") == stored.nonce

    result = contract_deploy(force_new=True)
    new = result.deployment
    assert result.created and new.status == TxStatus.CONFIRMED
    assert new.nonce == stored.nonce + 1  # after the stored transaction, not at the node's pending count
    assert new.address == create_address(node.address, new.nonce) and node.code_at(new.address)
    stored.refresh_from_db()
    assert stored.status == TxStatus.CONFIRMED  # the broadcaster's transaction was driven to its receipt first
    assert node.nonce("latest") == new.nonce + 1
    assert_anchored_exactly_once(anvil, anchor_contract, links)

    more = chains("deploy-after", keys=2, per_key=1)
    enqueue(more)
    txmanager.run_once()
    after = AnchorTransaction.objects.get(deployment=new)
    assert after.nonce == new.nonce + 1 and after.status == TxStatus.CONFIRMED
    assert_anchored_exactly_once(anvil, new, more)


def test_a_deployment_waits_for_the_broadcaster_to_finish_its_run(anvil, anchor_contract):
    node = client_for(anvil.url)
    with txmanager.broadcaster_lock(31337, node.address) as acquired:
        assert acquired
        with pytest.raises(TransientChainError, match="held the lock"):
            contract_deploy(force_new=True, lock_wait_seconds=0.3)
    assert deployment_current(chain_id=31337) == anchor_contract

    released = threading.Event()

    def hold_then_release() -> None:
        with txmanager.broadcaster_lock(31337, node.address) as held:
            assert held
            taken.set()
            released.wait(timeout=10)

    taken = threading.Event()
    holder = threading.Thread(target=hold_then_release)
    holder.start()
    assert taken.wait(timeout=10)
    threading.Timer(0.5, released.set).start()
    result = contract_deploy(force_new=True, lock_wait_seconds=10)  # waits until the run ends
    holder.join(timeout=10)
    assert released.is_set() and result.created and result.deployment.nonce == node.nonce("latest") - 1


def test_a_deployment_stored_but_not_broadcast_is_sent_again_unchanged(anvil):
    with pytest.raises(TransientChainError):
        contract_deploy(client=BroadcastDrops(anvil.url, delivered=False))
    signed = ContractDeployment.objects.get()
    assert signed.status == TxStatus.SIGNED and signed.raw_tx.startswith("0x02")
    assert deployment_current(chain_id=31337) is None  # not in use before it is mined

    result = contract_deploy()
    assert result.deployment == signed and ContractDeployment.objects.count() == 1
    signed.refresh_from_db()
    assert signed.status == TxStatus.CONFIRMED and signed.block_number
    assert client_for(anvil.url).code_at(signed.address)


def test_a_devnet_that_forgot_everything_gets_the_contract_again_at_the_same_address(own_anvil, batch):
    from tests.chain_adapter.conftest import restart

    batch(10)
    first = contract_deploy().deployment
    links = chains("reset", keys=2, per_key=1)
    enqueue(links)
    txmanager.run_once()
    own_anvil.stop()
    assert own_anvil.state_file is not None
    own_anvil.state_file.unlink()  # the devnet's state is gone: a fresh chain from block 0
    restart(own_anvil)

    result = contract_deploy()
    assert result.created and result.requeued_records == len(links)
    assert result.deployment.address == first.address  # same sender, same nonce: the same address
    first.refresh_from_db()
    assert first.status == TxStatus.DROPPED and deployment_current(chain_id=31337) == result.deployment
    txmanager.run_once()
    assert_anchored_exactly_once(own_anvil, result.deployment, links)
    again = AnchorTransaction.objects.get(deployment=result.deployment)
    assert again.nonce == result.deployment.nonce + 1 == client_for(own_anvil.url).nonce("latest") - 1
