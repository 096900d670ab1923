"""The committed ``BillAnchor`` artifact and the encoding the transaction manager needs around it.

``contracts/BillAnchor.json`` is written by ``contracts/compile.js`` from ``contracts/BillAnchor.sol`` and
committed; a test recompiles and fails when they differ. Nothing here talks to a node: calldata for
``anchor``, the ``Anchored`` log layout, custom-error decoding, reading a signed transaction back and the
address a deployment creates are plain encoding.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from eth_abi import decode as abi_decode
from eth_abi import encode as abi_encode
from eth_abi.exceptions import DecodingError
from eth_account.typed_transactions import TypedTransaction
from eth_hash.auto import keccak
from eth_utils import to_checksum_address
from hexbytes import HexBytes
from web3.types import Nonce
from web3.utils.address import get_create_address

CONTRACTS_DIR = Path(__file__).resolve().parent / "contracts"
ARTIFACT_PATH = CONTRACTS_DIR / "BillAnchor.json"
SOURCE_PATH = CONTRACTS_DIR / "BillAnchor.sol"

ANCHOR_SIGNATURE = "anchor(bytes32[],bytes32[],bytes32[])"
ANCHOR_SELECTOR = keccak(ANCHOR_SIGNATURE.encode())[:4]
ANCHORED_TOPIC = "0x" + keccak(b"Anchored(bytes32,bytes32,bytes32)").hex()


@dataclass(frozen=True)
class Artifact:
    abi: list[dict[str, Any]]
    bytecode: str
    deployed_bytecode: str
    compiler_version: str
    source_sha256: str

    @property
    def runtime_code_hash(self) -> str:
        """keccak256 of the runtime code, as ``eth_getCode`` returns it for a deployment of this artifact."""
        return "0x" + keccak(bytes.fromhex(self.deployed_bytecode[2:])).hex()


@lru_cache(maxsize=1)
def load_artifact() -> Artifact:
    data = json.loads(ARTIFACT_PATH.read_text())
    return Artifact(
        abi=data["abi"],
        bytecode=data["bytecode"],
        deployed_bytecode=data["deployedBytecode"],
        compiler_version=data["compiler"]["version"],
        source_sha256=data["sourceSha256"],
    )


def _b32(value: str) -> bytes:
    return bytes.fromhex(value[2:])


def anchor_calldata(keys: list[str], prevs: list[str], hashes: list[str]) -> str:
    """``anchor(keys, prevs, hashes)`` calldata as 0x-hex; arguments are 0x-prefixed 32-byte hex strings."""
    args = abi_encode(
        ["bytes32[]", "bytes32[]", "bytes32[]"],
        [[_b32(k) for k in keys], [_b32(p) for p in prevs], [_b32(h) for h in hashes]],
    )
    return "0x" + (ANCHOR_SELECTOR + args).hex()


@dataclass(frozen=True)
class AnchoredLog:
    """One ``Anchored(billKey, prevHash, eventHash)`` log, with where it sits on the chain."""

    key: str
    prev_hash: str
    event_hash: str
    tx_hash: str
    block_number: int
    block_hash: str
    log_index: int


def _hex(value: Any) -> str:
    if isinstance(value, (bytes, bytearray)):
        return "0x" + bytes(value).hex()
    text = str(value).lower()
    return text if text.startswith("0x") else "0x" + text


def _int(value: Any) -> int:
    return int(value, 16) if isinstance(value, str) else int(value)


def decode_anchored_logs(logs: list[Any], contract_address: str) -> list[AnchoredLog]:
    """The ``Anchored`` logs among raw JSON-RPC logs (receipt or ``eth_getLogs``) emitted by the contract."""
    address = contract_address.lower()
    found = []
    for log in logs:
        topics = [_hex(t) for t in log["topics"]]
        if _hex(log["address"]) != address or not topics or topics[0] != ANCHORED_TOPIC:
            continue
        data = bytes.fromhex(_hex(log["data"])[2:])
        found.append(
            AnchoredLog(
                key=topics[1],
                prev_hash="0x" + data[:32].hex(),
                event_hash="0x" + data[32:64].hex(),
                tx_hash=_hex(log["transactionHash"]),
                block_number=_int(log["blockNumber"]),
                block_hash=_hex(log["blockHash"]),
                log_index=_int(log["logIndex"]),
            )
        )
    return found


@lru_cache(maxsize=1)
def _error_table() -> dict[bytes, tuple[str, list[str], list[str]]]:
    table = {}
    for item in load_artifact().abi:
        if item.get("type") != "error":
            continue
        types = [i["type"] for i in item["inputs"]]
        names = [i["name"] for i in item["inputs"]]
        selector = keccak(f"{item['name']}({','.join(types)})".encode())[:4]
        table[selector] = (item["name"], types, names)
    return table


def decode_revert(data: str | bytes | None) -> tuple[str | None, dict[str, object]]:
    """The contract's custom error in revert ``data``: (name, {argument: value}); (None, {}) if unknown.

    bytes32 arguments come back as 0x-hex strings, addresses as checksummed strings.
    """
    if data is None:
        return None, {}
    raw = bytes(data) if isinstance(data, (bytes, bytearray)) else bytes.fromhex(_hex(data)[2:])
    entry = _error_table().get(raw[:4])
    if entry is None:
        return None, {}
    name, types, names = entry
    try:
        values = abi_decode(types, raw[4:])
    except DecodingError:  # malformed revert data: the name is all we know
        return name, {}
    decoded: dict[str, object] = {}
    for arg, kind, value in zip(names, types, values, strict=True):
        if kind == "address":
            decoded[arg] = to_checksum_address(value)
        elif isinstance(value, bytes):
            decoded[arg] = _hex(value)
        else:
            decoded[arg] = value
    return name, decoded


@dataclass(frozen=True)
class Payload:
    """What a signed transaction does, read back from its bytes (to re-sign the same call)."""

    to: str | None
    data: str
    value: int
    gas: int
    nonce: int


def payload_of(raw: str) -> Payload:
    """Read back what the signed EIP-1559 transaction ``raw`` (0x-hex) does."""
    fields = TypedTransaction.from_bytes(HexBytes(raw)).as_dict()
    to = fields.get("to")
    return Payload(
        to=to_checksum_address(bytes(to)) if to else None,
        data="0x" + bytes(fields.get("data") or b"").hex(),
        value=int(fields.get("value") or 0),
        gas=int(fields["gas"]),
        nonce=int(fields["nonce"]),
    )


def add_anchorer_calldata(account: str) -> str:
    """Calldata of ``addAnchorer(account)``."""
    return "0x" + (keccak(b"addAnchorer(address)")[:4] + bytes.fromhex(account[2:].lower().rjust(64, "0"))).hex()


def create_address(sender: str, nonce: int) -> str:
    """The address of the contract ``sender`` creates with ``nonce`` (checksummed)."""
    return str(get_create_address(to_checksum_address(sender), Nonce(nonce)))
