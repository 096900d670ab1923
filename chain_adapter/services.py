"""Writes of the chain adapter that are not the transaction manager's own: deploying the contract and the
operator's retry of a failed record. Commands and admin actions call these; they hold no rules themselves.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.contrib.auth.models import AbstractBaseUser
from django.db import connection, transaction
from eth_hash.auto import keccak

from chain_adapter.client import ChainClient
from chain_adapter.contract import load_artifact
from chain_adapter.errors import (
    AnchoringNotPermitted,
    AnchorRecordNotFound,
    AnchorRetryRefused,
    DeploymentMismatch,
)
from chain_adapter.models import (
    LIVE_TX_STATUSES,
    AnchorAuditLog,
    AnchorRecord,
    AnchorStatus,
    AnchorTransaction,
    ContractDeployment,
    TxStatus,
)
from chain_adapter.outbox import ring_doorbell_on_commit
from chain_adapter.selectors import deployment_current
from finance_portal.organizations.services import require_acting_organization

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class DeployResult:
    deployment: ContractDeployment
    created: bool
    requeued_records: int = 0


def _advisory_xact_lock(name: str) -> None:
    key = int.from_bytes(keccak(name.encode())[:8], "big", signed=True)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [key])


def contract_deploy(*, client: ChainClient | None = None, force_new: bool = False) -> DeployResult:
    """Deploy ``BillAnchor`` on the connected chain, or return the deployment recorded for its chain id.

    A system operation (``manage.py deploy_contract``, ``make run``, the test fixture): it has no actor.
    Concurrent calls are serialized per chain id (a transaction-level advisory lock), so they deploy once.
    A recorded deployment is reused when its address holds the artifact's runtime code and the anchor
    account may anchor there. When the address holds no code on a devnet (its state was reset), a new
    contract is deployed and the records anchored on the vanished one are queued again; on any other chain
    that is refused, as is a recorded address whose code differs from the artifact, unless ``force_new``.
    """
    client = client or ChainClient.from_settings()
    chain_id = client.connect()
    artifact = load_artifact()
    with transaction.atomic():
        _advisory_xact_lock(f"chain_adapter.deploy:{chain_id}")
        existing = deployment_current(chain_id=chain_id)
        requeue = False
        if existing is not None and not force_new:
            code = client.code_at(existing.address)
            if code and "0x" + keccak(code).hex() == artifact.runtime_code_hash:
                if not client.is_anchorer(existing.address, client.address):
                    raise DeploymentMismatch(
                        f"The anchor account {client.address} is not an anchorer of {existing.address}: the "
                        "contract owner must call addAnchorer for it."
                    )
                return DeployResult(existing, created=False)
            if code:
                raise DeploymentMismatch(
                    f"The contract at {existing.address} (chain {chain_id}) holds other code than "
                    "chain_adapter/contracts/BillAnchor.json: deploy a new one with --new."
                )
            if chain_id not in client.devnet_chain_ids:
                raise DeploymentMismatch(
                    f"No code at the recorded contract address {existing.address} on chain {chain_id}: "
                    "check ETH_RPC_URL, or deploy a new contract with --new."
                )
            requeue = True
        receipt = client.deploy(bytecode=artifact.bytecode)
        deployment = ContractDeployment.objects.create(
            chain_id=chain_id,
            address=str(receipt.contract_address),
            deployer=client.address,
            tx_hash=receipt.tx_hash,
            block_number=receipt.block_number,
            runtime_code_hash=artifact.runtime_code_hash,
            compiler_version=artifact.compiler_version,
            source_sha256=artifact.source_sha256,
        )
        requeued = _requeue_vanished(existing) if requeue and existing is not None else 0
    logger.info("deployed BillAnchor at %s on chain %s (block %s)", deployment.address, chain_id,
                deployment.block_number)
    return DeployResult(deployment, created=True, requeued_records=requeued)


def _requeue_vanished(old: ContractDeployment) -> int:
    """The devnet forgot ``old``: its live transactions are dropped and what it anchored is queued again."""
    AnchorTransaction.objects.filter(deployment=old, status__in=LIVE_TX_STATUSES).update(
        status=TxStatus.DROPPED, error="The devnet was reset: this transaction's chain no longer exists."
    )
    count = AnchorRecord.objects.filter(
        status__in=[AnchorStatus.SENT, AnchorStatus.CONFIRMED], anchor_tx__deployment=old
    ).update(
        status=AnchorStatus.PENDING, tx_hash="", block_number=None, log_index=None, confirmed_at=None,
        anchor_tx=None, last_error="Queued again: the devnet holding its anchor was reset.",
    )
    if count:
        ring_doorbell_on_commit()
    return count


def anchor_record_retry(*, record_id: int, actor: AbstractBaseUser) -> AnchorRecord:
    """Put a failed record back in the queue (admin action). Only platform staff may; only failed records.

    The transaction manager then decides again from the chain: it anchors the record if its predecessor
    is the key's head, or fails it again with the reason.
    """
    organization = require_acting_organization(actor)
    if not (organization.is_platform and getattr(actor, "is_staff", False)):
        raise AnchoringNotPermitted("Only the platform operator's staff may retry anchoring.")
    with transaction.atomic():
        record = AnchorRecord.objects.select_for_update().filter(pk=record_id).first()
        if record is None:
            raise AnchorRecordNotFound(f"There is no anchoring record {record_id}.", field="record_id")
        if record.status != AnchorStatus.FAILED:
            raise AnchorRetryRefused(
                f"Only failed records can be retried; record {record_id} is {record.get_status_display().lower()}."
            )
        AnchorAuditLog.objects.create(
            record=record, action="retry", actor=actor, detail={"previous_error": record.last_error}
        )
        record.status = AnchorStatus.PENDING
        record.last_error = ""
        record.save(update_fields=["status", "last_error"])
        ring_doorbell_on_commit()
    return record
