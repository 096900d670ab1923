"""The anchor accounts' keys, from the environment, checked before anything starts.

``ANCHOR_PRIVATE_KEY`` is the anchor account: it deploys the contract, owns it, and is sender 0. With
``ANCHOR_SENDERS`` = N > 1, N - 1 more accounts anchor beside it, one broadcaster each, every bill's key
assigned to one of them (``chain_adapter.decisions.lane_of``); their keys come from
``ANCHOR_EXTRA_PRIVATE_KEYS`` (comma-separated). In development only, when that is unset, Anvil's next public
development accounts are used (funded by Anvil). Anvil's public keys are refused on any chain that is not a devnet.
"""

from __future__ import annotations

from chain_adapter.devnet import DEV_ACCOUNTS, DEV_PRIVATE_KEYS, DEVNET_CHAIN_IDS
from finance_portal.env import SettingError

MAX_SENDERS = 16
# make run's anchoring (development settings, unless the environment says otherwise; tests keep the plain
# defaults): two anchor keys, batches of up to 200 events, 16 unmined transactions per key, and a partial batch
# held at most half a block behind an unmined one (gas is free on the devnet; latency is not). The capacity
# benchmark (tests/bench/chain_capacity.py) runs "make run's worker" with exactly these.
MAKE_RUN_ANCHORING = {"ANCHOR_SENDERS": "2", "ANCHOR_BATCH_SIZE": "200", "ANCHOR_MAX_IN_FLIGHT": "16",
                      "ANCHOR_MAX_WAIT_SECONDS": "0.5"}


def normalized_key(key: str) -> str:
    return key.lower() if key.startswith("0x") else "0x" + key.lower()


def check_anchor_key(key: str, chain_id: int, name: str = "ANCHOR_PRIVATE_KEY") -> None:
    """Refuse Anvil's public development keys on any chain that is not a devnet, and anything but 32 bytes of hex."""
    normalized = normalized_key(key)
    if normalized in DEV_PRIVATE_KEYS and chain_id not in DEVNET_CHAIN_IDS:
        raise SettingError(
            f"{name} is Anvil's public development key, refused on chain id {chain_id}: set a private key of your own."
        )
    body = normalized[2:]
    if len(body) != 64 or any(c not in "0123456789abcdef" for c in body):
        raise SettingError(f"{name} must be 32 bytes of hex (64 hex digits, optional 0x).")


def extra_sender_keys(*, main_key: str, extra: list[str], senders: int, chain_id: int, dev: bool) -> list[str]:
    """The keys of anchor senders 1 … ``senders`` - 1, checked: distinct from each other and from the main key."""
    if not 1 <= senders <= MAX_SENDERS:
        raise SettingError(f"ANCHOR_SENDERS must be between 1 and {MAX_SENDERS}, not {senders}.")
    wanted = senders - 1
    if not extra and wanted and dev:
        spare = [key for _address, key in DEV_ACCOUNTS[1:]]
        if normalized_key(main_key) not in DEV_PRIVATE_KEYS or wanted > len(spare):
            raise SettingError(
                f"ANCHOR_SENDERS={senders} needs {wanted} keys in ANCHOR_EXTRA_PRIVATE_KEYS (development fills in at "
                f"most {len(spare)} of Anvil's public keys, and only beside Anvil's own anchor key)."
            )
        extra = spare[:wanted]
    if len(extra) != wanted:
        raise SettingError(
            f"ANCHOR_SENDERS={senders} needs exactly {wanted} keys in ANCHOR_EXTRA_PRIVATE_KEYS, found {len(extra)}."
        )
    for index, key in enumerate(extra, start=1):
        check_anchor_key(key, chain_id, name=f"ANCHOR_EXTRA_PRIVATE_KEYS (sender {index})")
    keys = [normalized_key(k) for k in [main_key, *extra]]
    if len(set(keys)) != len(keys):
        raise SettingError("ANCHOR_EXTRA_PRIVATE_KEYS repeats a key (or the anchor key): each sender needs its own.")
    return keys[1:]
