"""Writes of the chain adapter that are not the broadcaster's own run: deploying the contract, the operator's
retry of a failed record, and the operator's replacement of a stuck transaction. Commands and admin actions
call these; they hold no rules themselves (the rules are in ``decisions``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from eth_hash.auto import keccak

from chain_adapter.client import ChainClient
from chain_adapter.conf import anchoring_settings, sender_count
from chain_adapter.contract import Artifact, load_artifact
from chain_adapter.deployer import deploy, register_senders
from chain_adapter.errors import (
    AnchoringNotPermitted,
    AnchorRecordNotFound,
    AnchorReplaceRefused,
    AnchorRetryRefused,
    AnchorTransactionNotFound,
    DeploymentMismatch,
    TransientChainError,
)
from chain_adapter.locks import advisory_locks, broadcaster_lock, broadcaster_lock_name, deploy_lock_name
from chain_adapter.models import (
    AnchorAuditLog,
    AnchorRecord,
    AnchorStatus,
    AnchorTransaction,
    ContractDeployment,
    TxStatus,
)
from chain_adapter.outbox import ring_doorbell_on_commit
from chain_adapter.replacement import replace_stuck
from chain_adapter.selectors import deployment_current
from finance_portal.organizations.services import require_acting_organization

logger = logging.getLogger(__name__)

LOCK_WAIT_SECONDS = 90.0  # a broadcaster run holds the lock for at most 60 s


@dataclass(frozen=True)
class DeployResult:
    deployment: ContractDeployment
    created: bool
    requeued_records: int = 0


def contract_deploy(*, client: ChainClient | None = None, force_new: bool = False,
                    lock_wait_seconds: float = LOCK_WAIT_SECONDS) -> DeployResult:
    """Deploy ``BillAnchor`` on the connected chain, or return the deployment recorded for its chain id.

    A system operation (``manage.py deploy_contract``, ``make run``, the test fixture): it has no actor.
    When a deployment is needed it takes the deploy lock of the chain id (concurrent calls deploy once) and
    the broadcaster lock of the anchor account (waiting up to ``lock_wait_seconds`` for a running broadcaster
    to end its run), and sends the deployment through the broadcaster's nonce sequence (``deployer``). A recorded deployment is reused when its address
    holds the artifact's runtime code and the anchor account may anchor there. When the address holds no code
    on a devnet (its state was reset), a new contract is deployed and the records anchored on the vanished
    one are queued again; on any other chain that is refused, as is a recorded address whose code differs
    from the artifact, unless ``force_new``.
    """
    client = client or ChainClient.from_settings()
    chain_id = client.connect()
    artifact = load_artifact()
    if not force_new:  # the common case, without waiting for any lock: the recorded one is in place
        existing = deployment_current(chain_id=chain_id)
        if existing is not None and _in_place(client, existing, artifact) is not None:
            register_senders(client, existing, lock_wait_seconds=lock_wait_seconds)
            return DeployResult(existing, created=False)
    locks = [deploy_lock_name(chain_id), broadcaster_lock_name(chain_id, client.address)]
    with advisory_locks(locks, wait_seconds=lock_wait_seconds) as acquired:
        if not acquired:
            raise TransientChainError(
                f"Another deployment, or the broadcaster of {client.address}, held the lock for "
                f"{lock_wait_seconds:.0f} s: try again."
            )
        existing = deployment_current(chain_id=chain_id)  # again: another caller may have deployed meanwhile
        code = client.code_at(existing.address) if existing is not None else b""
        if existing is not None and not force_new and _in_place(client, existing, artifact) is not None:
            deployment, requeued, created = existing, 0, False
        else:
            deployment, requeued = deploy(client, artifact, previous=existing, drain_previous=bool(code),
                                          requeue_previous=existing is not None and not code and not force_new)
            created = True
    register_senders(client, deployment, lock_wait_seconds=lock_wait_seconds)
    if not created:
        return DeployResult(deployment, created=False)
    logger.info("deployed BillAnchor at %s on chain %s (block %s, nonce %s)", deployment.address, chain_id,
                deployment.block_number, deployment.nonce)
    return DeployResult(deployment, created=True, requeued_records=requeued)


def _in_place(client: ChainClient, existing: ContractDeployment, artifact: Artifact) -> bytes | None:
    """The code at ``existing`` when it is the artifact's and the anchor account may anchor there; None when
    its devnet forgot it (no code). Raises ``DeploymentMismatch`` for anything else."""
    code = client.code_at(existing.address)
    chain_id = existing.chain_id
    if code and "0x" + keccak(code).hex() == artifact.runtime_code_hash:
        if not client.is_anchorer(existing.address, client.address):
            raise DeploymentMismatch(
                f"The anchor account {client.address} is not an anchorer of {existing.address}: the "
                "contract owner must call addAnchorer for it."
            )
        return code
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
    return None


def _client_for(sender: str) -> ChainClient:
    """A client signing as the configured anchor sender ``sender`` (sender 0's when none is: the check that
    follows says so)."""
    for lane in range(sender_count()):
        client = ChainClient.from_settings(lane) if lane else ChainClient.from_settings()
        if client.address.lower() == sender.lower():
            return client
    return ChainClient.from_settings()


def _require_platform_staff(actor: AbstractBaseUser, what: str) -> None:
    organization = require_acting_organization(actor)
    if not (organization.is_platform and getattr(actor, "is_staff", False)):
        raise AnchoringNotPermitted(f"Only the platform operator's staff may {what}.")


def anchor_record_retry(*, record_id: int, actor: AbstractBaseUser) -> AnchorRecord:
    """Put a failed record back in the queue (admin action). Only platform staff may; only failed records.

    The transaction manager then decides again from the chain: it anchors the record if its predecessor
    is the key's head, or fails it again with the reason.
    """
    _require_platform_staff(actor, "retry anchoring")
    with transaction.atomic():
        record = AnchorRecord.objects.select_for_update().filter(pk=record_id).first()
        if record is None:
            raise AnchorRecordNotFound(f"There is no anchoring record {record_id}.", field="record_id")
        if record.status != AnchorStatus.FAILED:
            raise AnchorRetryRefused(
                f"Only failed records can be retried; record {record_id} is {record.get_status_display().lower()}."
            )
        AnchorAuditLog.objects.create(
            record=record, action="retry", actor_id=actor.pk, detail={"previous_error": record.last_error}
        )
        record.status = AnchorStatus.PENDING
        record.last_error = ""
        record.save(update_fields=["status", "last_error"])
        ring_doorbell_on_commit()
    return record


def anchor_transaction_replace(*, transaction_id: int, actor: AbstractBaseUser, reason: str,
                               client: ChainClient | None = None,
                               lock_wait_seconds: float = LOCK_WAIT_SECONDS) -> AnchorTransaction:
    """Replace a stuck transaction (admin action): a new version of its nonce, audited (who, when, why, the
    old and new transaction hashes), which the broadcaster then sends, so anchoring resumes.

    The same records re-signed when the contract would still accept them, else a no-op that spends the nonce
    while the records are settled from the chain (anchored already, back to the outbox, or failed). Only
    platform staff may, with a reason; only stuck transactions. Takes the broadcaster lock (waiting up to
    ``lock_wait_seconds``); node calls happen outside database transactions (``replacement.replace_stuck``).
    """
    _require_platform_staff(actor, "replace anchoring transactions")
    reason = reason.strip()
    if not reason:
        raise AnchorReplaceRefused("Say why the transaction is replaced (it goes in the audit log).", field="reason")
    stuck = AnchorTransaction.objects.select_related("deployment").filter(pk=transaction_id).first()
    if stuck is None:
        raise AnchorTransactionNotFound(f"There is no anchoring transaction {transaction_id}.", field="transaction_id")
    if stuck.status != TxStatus.STUCK:
        raise AnchorReplaceRefused(
            f"Only stuck transactions can be replaced; {stuck.tx_hash} is {stuck.get_status_display().lower()}."
        )
    client = client or _client_for(stuck.sender)
    chain_id = client.connect()
    if client.address.lower() != stuck.sender.lower() or chain_id != stuck.deployment.chain_id:
        raise AnchorReplaceRefused(
            f"Transaction {stuck.tx_hash} was signed by {stuck.sender} on chain {stuck.deployment.chain_id}; this "
            f"process signs as {client.address} on chain {chain_id}."
        )
    with broadcaster_lock(chain_id, stuck.sender, wait_seconds=lock_wait_seconds) as acquired:
        if not acquired:
            raise AnchorReplaceRefused("The broadcaster is busy: try again in a minute.")
        return replace_stuck(client, stuck, actor=actor, reason=reason,
                             confirmations=anchoring_settings().confirmations)
