"""Hashes of the anchoring protocol (DESIGN §4): keccak256 over UTF-8 bytes, as 0x-prefixed lowercase hex."""

from __future__ import annotations

from eth_hash.auto import keccak

ZERO_HASH = "0x" + "00" * 32


def keccak256_hex(data: bytes | str) -> str:
    if isinstance(data, str):
        data = data.encode("utf-8")
    return "0x" + keccak(data).hex()


def record_key(identifier: str) -> str:
    """The on-chain key of a record's hash chain: keccak256 of its identifier's UTF-8 bytes."""
    return keccak256_hex(identifier)


def is_hash(value: str) -> bool:
    return (
        isinstance(value, str)
        and len(value) == 66
        and value.startswith("0x")
        and all(c in "0123456789abcdef" for c in value[2:])
    )
