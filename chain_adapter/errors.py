"""Errors of the chain adapter.

Two families. ``ChainError`` and its subclasses describe what the node or the contract answered: transient ones
(the node is unreachable, times out, the account cannot pay for gas) leave the outbox rows pending and are
retried with backoff; permanent ones (wrong chain, refused key, a revert) are not retried blindly. The
``AnchoringError`` family holds the domain errors of the services (admin actions), which the portal turns
into 4xx answers.
"""

from __future__ import annotations

from finance_portal.errors import Conflict, DomainError, NotFound, NotPermitted


class ChainError(Exception):
    """Something the chain or its node answered; ``str(err)`` says what, for logs and admin."""


class TransientChainError(ChainError):
    """Worth retrying later: the node is unreachable or overloaded, or the account cannot pay for gas yet."""


class InsufficientFunds(TransientChainError):
    """The anchor account cannot pay for gas. Anchoring waits until someone funds it."""


class Underpriced(TransientChainError):
    """The node refuses a transaction whose fee cap is below the base fee. It waits, and the transaction
    manager re-signs it with a higher fee after ``ANCHOR_FEE_BUMP_AFTER_SECONDS``."""


class PermanentChainError(ChainError):
    """Retrying the same request will not help: a configuration or protocol problem."""


class ChainIdMismatch(PermanentChainError):
    """The node answers with another chain id than the one configured."""


class DevKeyRefused(PermanentChainError):
    """A public development key was offered for a chain that is not a devnet."""


class NotDeployed(PermanentChainError):
    """No contract deployment is recorded for the connected chain: run ``manage.py deploy_contract``."""


class DeploymentMismatch(PermanentChainError):
    """The recorded contract address holds other code than the committed artifact."""


class NonceConsumed(ChainError):
    """The node refused a transaction because its nonce is used already (mined, or taken by another
    transaction). The caller decides from the receipt whether it was this very transaction."""


class ContractReverted(PermanentChainError):
    """The contract refused the call. ``error_name``/``error_args`` hold the decoded custom error, if any."""

    def __init__(self, message: str, *, error_name: str | None = None, error_args: dict[str, object] | None = None):
        super().__init__(message)
        self.error_name = error_name
        self.error_args = error_args or {}


class AnchoringError(DomainError):
    """Base of the chain adapter's domain errors (raised by services, shown to users)."""


class AnchorRecordNotFound(NotFound, AnchoringError):
    code = "anchor_record_not_found"


class AnchorRetryRefused(Conflict, AnchoringError):
    code = "anchor_retry_refused"


class AnchorTransactionNotFound(NotFound, AnchoringError):
    code = "anchor_transaction_not_found"


class AnchorReplaceRefused(Conflict, AnchoringError):
    code = "anchor_replace_refused"


class AnchoringNotPermitted(NotPermitted, AnchoringError):
    code = "anchoring_not_permitted"
