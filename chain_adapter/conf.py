"""The chain adapter's settings, read in one place and typed.

``finance_portal.settings`` builds its values from the environment at import time (``finance_portal.env``),
which type checkers cannot see; this module reads them once per call with their types and defaults, so the
rest of the package never touches ``django.conf.settings`` for anchoring.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings

DEFAULT_MAX_IN_FLIGHT = 8  # signed transactions waiting to be mined at once
DEFAULT_FEE_BUMP_AFTER_SECONDS = 60.0
DEFAULT_REORG_WINDOW_BLOCKS = 12  # confirmed transactions this close to the tip are re-checked (reorgs)


def _get(name: str, default: object = None) -> object:
    value = getattr(settings, name, default)
    if value is None:
        raise AttributeError(f"The setting {name} is missing.")
    return value


@dataclass(frozen=True)
class ChainSettings:
    rpc_url: str
    chain_id: int
    private_key: str  # the anchor account: deployer, owner, sender 0
    extra_keys: tuple[str, ...] = ()  # senders 1 … N - 1 (ANCHOR_SENDERS)

    @property
    def sender_keys(self) -> tuple[str, ...]:
        """Every anchor sender's key, in lane order."""
        return (self.private_key, *self.extra_keys)


@dataclass(frozen=True)
class AnchoringSettings:
    batch_size: int
    max_wait_seconds: float
    confirmations: int
    max_in_flight: int
    fee_bump_after_seconds: float
    reorg_window_blocks: int = DEFAULT_REORG_WINDOW_BLOCKS


def chain_settings() -> ChainSettings:
    """``ETH_RPC_URL``, ``CHAIN_ID``, ``ANCHOR_PRIVATE_KEY`` and ``ANCHOR_EXTRA_PRIVATE_KEYS`` (checked by the
    settings module, ``finance_portal.settings.anchor_keys``)."""
    extra = getattr(settings, "ANCHOR_EXTRA_PRIVATE_KEYS", None) or ()
    return ChainSettings(rpc_url=str(_get("ETH_RPC_URL")), chain_id=int(str(_get("CHAIN_ID"))),
                         private_key=str(_get("ANCHOR_PRIVATE_KEY")), extra_keys=tuple(str(k) for k in extra))


def sender_count() -> int:
    """How many anchor senders (lanes) there are: 1 + the extra keys."""
    return len(chain_settings().sender_keys)


def anchoring_settings() -> AnchoringSettings:
    """``ANCHOR_BATCH_SIZE``, ``ANCHOR_MAX_WAIT_SECONDS``, ``ANCHOR_CONFIRMATIONS``, and the optional
    ``ANCHOR_MAX_IN_FLIGHT``, ``ANCHOR_FEE_BUMP_AFTER_SECONDS`` and ``ANCHOR_REORG_WINDOW_BLOCKS`` (0: no
    re-check of confirmed transactions)."""
    return AnchoringSettings(
        batch_size=int(str(_get("ANCHOR_BATCH_SIZE"))),
        max_wait_seconds=float(str(_get("ANCHOR_MAX_WAIT_SECONDS"))),
        confirmations=int(str(_get("ANCHOR_CONFIRMATIONS"))),
        max_in_flight=int(str(_get("ANCHOR_MAX_IN_FLIGHT", DEFAULT_MAX_IN_FLIGHT))),
        fee_bump_after_seconds=float(str(_get("ANCHOR_FEE_BUMP_AFTER_SECONDS", DEFAULT_FEE_BUMP_AFTER_SECONDS))),
        reorg_window_blocks=int(str(_get("ANCHOR_REORG_WINDOW_BLOCKS", DEFAULT_REORG_WINDOW_BLOCKS))),
    )


def devnet_chain_ids(default: frozenset[int]) -> frozenset[int]:
    """``DEVNET_CHAIN_IDS`` if set, else ``default``."""
    value = getattr(settings, "DEVNET_CHAIN_IDS", None)
    return default if value is None else frozenset(int(v) for v in value)
