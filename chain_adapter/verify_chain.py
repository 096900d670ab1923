"""The node's side of a verification: the contract's head for a key and its ``Anchored`` logs in a block range,
read with plain JSON-RPC over ``urllib`` (no web3). ``ChainView`` is plain data a page may cache.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass
from typing import Any

from chain_adapter.verify_base import ANCHORED_TOPIC, HEAD_SELECTOR, ZERO_HASH, VerifierError


@dataclass
class ChainView:
    """What the node says about one bill key: the contract's head and its ``Anchored`` logs in a block range.

    Plain data (``as_dict``/``from_dict``), so a page may cache it until the bill's next anchor."""

    chain_id: int
    contract: str
    bill_key: str
    has_code: bool
    head: str
    logs: list[dict[str, Any]]  # {"prev", "hash", "tx_hash", "block", "log_index"} in chain order
    from_block: int
    to_block: int | str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ChainView:
        return cls(**data)


class _Rpc:
    def __init__(self, url: str, timeout: float) -> None:
        self.url, self.timeout, self.next_id = url, timeout, 0

    def __call__(self, method: str, params: list[Any]) -> Any:
        self.next_id += 1
        body = json.dumps({"jsonrpc": "2.0", "id": self.next_id, "method": method, "params": params}).encode()
        request = urllib.request.Request(self.url, data=body, headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as answer:  # noqa: S310 (the user's node)
                response = json.loads(answer.read())
        except (OSError, ValueError) as err:  # refused, timed out, HTTP error, not JSON
            raise VerifierError(f"the node does not answer ({err.__class__.__name__}: {err})") from err
        if not isinstance(response, dict) or ("result" not in response and "error" not in response):
            raise VerifierError(f"{method}: the node answered {response!r}")
        if "error" in response:
            raise VerifierError(f"{method} failed: {response['error']}")
        return response["result"]


def _hex_int(value: object, what: str) -> int:
    try:
        return int(str(value), 16)
    except ValueError as err:
        raise VerifierError(f"{what}: the node answered {value!r}") from err


def fetch_chain_view(rpc_url: str, *, contract: str, bill_key: str, from_block: int = 0,
                     to_block: int | None = None, max_block_range: int | None = None,
                     timeout: float = 20.0) -> ChainView:
    """Ask the node for the chain id, the contract's code, the ``Anchored`` logs of ``bill_key`` in blocks
    ``from_block``..``to_block`` (latest when None; queried ``max_block_range`` blocks at a time when given)
    and ``head(bill_key)``. Raises ``VerifierError`` when the node cannot be read."""
    rpc = _Rpc(rpc_url, timeout)
    chain_id = _hex_int(rpc("eth_chainId", []), "eth_chainId")
    code = rpc("eth_getCode", [contract, "latest"])
    has_code = code not in ("0x", "0x0", None, "")
    view = ChainView(chain_id, contract, bill_key, has_code, ZERO_HASH, [], from_block,
                     to_block if to_block is not None else "latest")
    if not has_code:
        return view
    ranges: list[tuple[str, str]]
    if max_block_range:
        last = to_block if to_block is not None else _hex_int(rpc("eth_blockNumber", []), "eth_blockNumber")
        ranges = [(hex(start), hex(min(start + max_block_range - 1, last)))
                  for start in range(from_block, last + 1, max_block_range)]
    else:
        ranges = [(hex(from_block), hex(to_block) if to_block is not None else "latest")]
    for low, high in ranges:
        raw = rpc("eth_getLogs", [{"address": contract, "fromBlock": low, "toBlock": high,
                                   "topics": [ANCHORED_TOPIC, bill_key]}])
        if not isinstance(raw, list):
            raise VerifierError(f"eth_getLogs: the node answered {raw!r}")
        for log in raw:
            try:
                data = str(log["data"]).removeprefix("0x")
                view.logs.append({
                    "prev": "0x" + data[:64].lower(), "hash": "0x" + data[64:128].lower(),
                    "tx_hash": str(log["transactionHash"]).lower(),
                    "block": _hex_int(log["blockNumber"], "blockNumber"),
                    "log_index": _hex_int(log["logIndex"], "logIndex"),
                })
            except (KeyError, TypeError) as err:
                raise VerifierError(f"eth_getLogs: a log without {err}") from err
    head_raw = str(rpc("eth_call", [{"to": contract, "data": "0x" + HEAD_SELECTOR + bill_key[2:]}, "latest"]))
    view.head = "0x" + head_raw.removeprefix("0x").rjust(64, "0")[-64:].lower()
    return view
