"""The chain client: the one place that talks JSON-RPC to the node (with ``verify.py`` for third parties).

A ``ChainClient`` is small on purpose: it checks the node's chain id against the configured one before its
first use, refuses Anvil's public development keys on a chain that is not a devnet, signs locally (the key
never leaves the process), estimates gas with a margin, polls for receipts at a short interval, and maps
every web3/requests failure onto ``TransientChainError`` (try again later) or ``PermanentChainError``
(do not retry blindly), raised ``from`` the original error.

It keeps no state of its own beyond a short fee cache: nonces and signed transactions are the transaction
manager's business (``chain_adapter.txmanager``), which stores them before anything is broadcast. What a
node's error message means is decided in ``chain_adapter.decisions.classify_refusal``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

import requests
from eth_account import Account
from eth_hash.auto import keccak
from web3 import Web3
from web3.exceptions import (
    ContractLogicError,
    ProviderConnectionError,
    RequestTimedOut,
    TimeExhausted,
    TooManyRequests,
    Web3RPCError,
)
from web3.providers.rpc import HTTPProvider

from chain_adapter.conf import chain_settings, devnet_chain_ids
from chain_adapter.contract import (
    ANCHORED_TOPIC,
    AnchoredLog,
    decode_anchored_logs,
    decode_revert,
)
from chain_adapter.decisions import Fees, Refusal, classify_refusal
from chain_adapter.devnet import DEV_PRIVATE_KEYS, DEVNET_CHAIN_IDS
from chain_adapter.errors import (
    ChainError,
    ChainIdMismatch,
    ContractReverted,
    DevKeyRefused,
    InsufficientFunds,
    NonceConsumed,
    PermanentChainError,
    TransientChainError,
    Underpriced,
)

__all__ = ["ChainClient", "Fees", "Receipt", "SignedTx"]

logger = logging.getLogger(__name__)

GAS_MARGIN_NUMERATOR, GAS_MARGIN_DENOMINATOR = 6, 5  # estimates are raised by 20 % ...
GAS_MARGIN_FLOOR = 10_000  # ... and by at least this much
FEE_CACHE_SECONDS = 1.0
HEAD_SELECTOR = keccak(b"head(bytes32)")[:4].hex()
IS_ANCHORER_SELECTOR = keccak(b"isAnchorer(address)")[:4].hex()


@dataclass(frozen=True)
class SignedTx:
    raw: str  # 0x-hex of the signed bytes, exactly what is broadcast (and re-broadcast)
    tx_hash: str


@dataclass(frozen=True)
class Receipt:
    tx_hash: str
    status: int  # 1 success, 0 reverted
    block_number: int
    block_hash: str
    gas_used: int
    contract_address: str | None
    raw_logs: tuple[Any, ...]

    def anchored(self, contract: str) -> list[AnchoredLog]:
        """The ``Anchored`` logs this transaction's contract ``contract`` emitted, in log order."""
        return decode_anchored_logs(list(self.raw_logs), contract)


def _message(err: Web3RPCError) -> str:
    response = err.rpc_response or {}
    error = response.get("error") if isinstance(response, dict) else None
    if isinstance(error, dict) and error.get("message"):
        return str(error["message"])
    return str(err.message)


class ChainClient:
    """A connection to one node, for one signing account. Not thread-safe; create one per task run.

    Precondition for every method but ``connect``: ``connect()`` succeeded (it is called lazily).
    """

    def __init__(
        self,
        *,
        rpc_url: str,
        chain_id: int,
        private_key: str,
        devnet_chain_ids: frozenset[int] = DEVNET_CHAIN_IDS,
        timeout: float = 10.0,
        poll_interval: float = 0.05,
    ) -> None:
        self.rpc_url = rpc_url
        self.expected_chain_id = chain_id
        self.devnet_chain_ids = devnet_chain_ids
        self.poll_interval = poll_interval
        key = private_key if private_key.startswith("0x") else "0x" + private_key
        self._account = Account.from_key(key)
        self._is_dev_key = key.lower() in DEV_PRIVATE_KEYS
        # No automatic retries inside web3: retry policy belongs to the caller (the Celery task).
        session = requests.Session()
        # A node on loopback needs no proxy or .netrc look-up, which would cost more than the call itself.
        session.trust_env = urlparse(rpc_url).hostname not in ("127.0.0.1", "localhost", "::1")
        provider = HTTPProvider(rpc_url, request_kwargs={"timeout": timeout}, session=session,
                                exception_retry_configuration=None)
        self._provider = provider
        self.w3 = Web3(provider, middleware=[])
        self._chain_id: int | None = None
        self._fees: tuple[float, Fees] | None = None
        if self._is_dev_key and chain_id not in devnet_chain_ids:
            raise DevKeyRefused(
                f"The anchor key is a public Anvil development key, refused for chain id {chain_id}: "
                "set ANCHOR_PRIVATE_KEY to a key of your own."
            )

    @classmethod
    def from_settings(cls, lane: int = 0) -> ChainClient:
        """A client signing as anchor sender ``lane`` (0: the anchor account, ``ANCHOR_PRIVATE_KEY``)."""
        conf = chain_settings()
        return cls(rpc_url=conf.rpc_url, chain_id=conf.chain_id, private_key=conf.sender_keys[lane],
                   devnet_chain_ids=devnet_chain_ids(DEVNET_CHAIN_IDS))

    # --- connection -----------------------------------------------------------------------------------

    @property
    def address(self) -> str:
        """The signing account (checksummed)."""
        return str(self._account.address)

    def connect(self) -> int:
        """Check the node's chain id against the configured one, and the key against the node's chain.

        Raises ``TransientChainError`` when the node does not answer, ``ChainIdMismatch`` or ``DevKeyRefused``.
        """
        if self._chain_id is not None:
            return self._chain_id
        with self._mapped("eth_chainId"):
            node_chain_id = int(self.w3.eth.chain_id)
        if node_chain_id != self.expected_chain_id:
            raise ChainIdMismatch(
                f"The node at {self.rpc_url} is chain id {node_chain_id}, but CHAIN_ID is {self.expected_chain_id}."
            )
        if self._is_dev_key and node_chain_id not in self.devnet_chain_ids:
            raise DevKeyRefused(
                f"The node at {self.rpc_url} is chain id {node_chain_id}, not a devnet: the public Anvil "
                "development key is refused there."
            )
        self._chain_id = node_chain_id
        return node_chain_id

    @property
    def chain_id(self) -> int:
        return self.connect()

    # --- reads ----------------------------------------------------------------------------------------

    def block_number(self) -> int:
        self.connect()
        with self._mapped("eth_blockNumber"):
            return int(self.w3.eth.block_number)

    def latest_block(self) -> dict[str, Any]:
        self.connect()
        with self._mapped("eth_getBlockByNumber"):
            return dict(self.w3.eth.get_block("latest"))

    def block_hash(self, number: int) -> str | None:
        """The hash of block ``number`` on the node's current chain (0x-hex, lowercase), or None beyond its tip."""
        self.connect()
        with self._mapped("eth_getBlockByNumber"):
            response = self._provider.make_request("eth_getBlockByNumber", [hex(number), False])  # type: ignore[arg-type]
        if "error" in response:
            raise TransientChainError(f"eth_getBlockByNumber failed: {response['error']}")
        block = response.get("result")
        return str(block["hash"]).lower() if block else None

    def code_at(self, address: str) -> bytes:
        self.connect()
        with self._mapped("eth_getCode"):
            return bytes(self.w3.eth.get_code(Web3.to_checksum_address(address)))

    def nonce(self, block: str = "pending") -> int:
        """The account's transaction count at ``block`` ("pending" counts what the node holds in its pool)."""
        self.connect()
        with self._mapped("eth_getTransactionCount"):
            return int(self.w3.eth.get_transaction_count(self.address, block))  # type: ignore[arg-type]

    def head(self, contract: str, key: str) -> str:
        """``head(key)`` of the contract at ``contract``, as 0x-hex."""
        return self.heads(contract, [key])[key]

    def heads(self, contract: str, keys: list[str]) -> dict[str, str]:
        """``head(key)`` for many keys in one JSON-RPC batch request."""
        self.connect()
        unique = list(dict.fromkeys(keys))
        if not unique:
            return {}
        to = Web3.to_checksum_address(contract)
        calls = [("eth_call", [{"to": to, "data": "0x" + HEAD_SELECTOR + k[2:]}, "latest"]) for k in unique]
        with self._mapped("eth_call head"):
            responses = self._provider.make_batch_request(calls)  # type: ignore[arg-type]
        if not isinstance(responses, list):
            raise TransientChainError(f"head(): the node answered the batch with {responses!r}")
        result: dict[str, str] = {}
        for key, response in zip(unique, responses, strict=True):
            if "error" in response:
                raise TransientChainError(f"head({key}) failed: {response['error']}")
            value = str(response["result"])
            result[key] = "0x" + value[2:].rjust(64, "0")[-64:].lower()
        return result

    def is_anchorer(self, contract: str, account: str) -> bool:
        self.connect()
        data = "0x" + IS_ANCHORER_SELECTOR + account[2:].lower().rjust(64, "0")
        with self._mapped("eth_call isAnchorer"):
            out = self.w3.eth.call({"to": Web3.to_checksum_address(contract), "data": data})  # type: ignore[typeddict-item]
        return int.from_bytes(bytes(out), "big") == 1

    def anchored_logs(
        self, contract: str, *, keys: list[str] | None = None, from_block: int = 0, to_block: int | str = "latest"
    ) -> list[AnchoredLog]:
        """The contract's ``Anchored`` logs in the block range, for ``keys`` only if given."""
        self.connect()
        topics: list[Any] = [ANCHORED_TOPIC]
        if keys:
            topics.append(list(dict.fromkeys(keys)))
        params = {"address": Web3.to_checksum_address(contract), "fromBlock": hex(from_block),
                  "toBlock": to_block if isinstance(to_block, str) else hex(to_block), "topics": topics}
        with self._mapped("eth_getLogs"):
            response = self._provider.make_request("eth_getLogs", [params])  # type: ignore[arg-type]
        if "error" in response:
            raise TransientChainError(f"eth_getLogs failed: {response['error']}")
        return decode_anchored_logs(list(response["result"]), contract)

    # --- transactions ---------------------------------------------------------------------------------

    def fee_market(self) -> tuple[int, int]:
        """(the latest block's base fee, the node's suggested tip), read now. A chain without EIP-1559 gives
        its legacy gas price as the base fee."""
        block = self.latest_block()
        with self._mapped("eth_maxPriorityFeePerGas"):
            tip = int(self.w3.eth.max_priority_fee)
        base = int(block.get("baseFeePerGas") or 0)
        if not base:
            with self._mapped("eth_gasPrice"):
                base = int(self.w3.eth.gas_price)
        return base, tip

    def fees(self) -> Fees:
        """EIP-1559 fees: twice the latest base fee plus the node's suggested tip (cached for a second)."""
        now = time.monotonic()
        if self._fees is not None and now - self._fees[0] < FEE_CACHE_SECONDS:
            return self._fees[1]
        base, tip = self.fee_market()
        fees = Fees(max_fee_per_gas=2 * base + tip, max_priority_fee_per_gas=tip)
        self._fees = (now, fees)
        return fees

    def estimate_gas(self, *, to: str | None, data: str) -> int:
        """Estimated gas for calling ``to`` (None: a deployment) with ``data``, plus the safety margin.

        Raises ``ContractReverted`` (with the decoded custom error) when the call would revert.
        """
        self.connect()
        tx: dict[str, Any] = {"from": self.address, "data": data}
        if to is not None:
            tx["to"] = Web3.to_checksum_address(to)
        with self._mapped("eth_estimateGas"):
            estimate = int(self.w3.eth.estimate_gas(tx))  # type: ignore[arg-type]
        return max(estimate * GAS_MARGIN_NUMERATOR // GAS_MARGIN_DENOMINATOR, estimate + GAS_MARGIN_FLOOR)

    def sign(self, *, to: str | None, data: str, nonce: int, gas: int, fees: Fees, value: int = 0) -> SignedTx:
        """Sign an EIP-1559 transaction locally. Nothing is sent, and the node is not asked (the chain id
        is the one ``connect()`` checked)."""
        tx: dict[str, Any] = {
            "type": 2,
            "chainId": self.chain_id,
            "nonce": nonce,
            "gas": gas,
            "maxFeePerGas": fees.max_fee_per_gas,
            "maxPriorityFeePerGas": fees.max_priority_fee_per_gas,
            "value": value,
            "data": data,
        }
        if to is not None:
            tx["to"] = Web3.to_checksum_address(to)
        signed = self._account.sign_transaction(tx)
        return SignedTx(raw="0x" + bytes(signed.raw_transaction).hex(), tx_hash="0x" + bytes(signed.hash).hex())

    def broadcast(self, raw: str) -> None:
        """Send signed bytes. A node that knows them already counts as success.

        Raises ``NonceConsumed`` when the nonce is used already (by these bytes, mined, or by others),
        ``Underpriced`` (the fee cap is below the base fee), ``InsufficientFunds``, ``TransientChainError``,
        or ``PermanentChainError`` (the node will never accept these bytes).
        """
        self.connect()
        try:
            with self._mapped("eth_sendRawTransaction", classify_rpc=False):
                self.w3.eth.send_raw_transaction(raw)  # type: ignore[arg-type]
        except Web3RPCError as err:
            refusal = classify_refusal(_message(err))
            if refusal == Refusal.KNOWN:
                return
            if refusal == Refusal.NONCE_USED:
                raise NonceConsumed(f"eth_sendRawTransaction: {_message(err)}") from err
            if refusal == Refusal.UNDERPRICED:
                raise Underpriced(f"eth_sendRawTransaction: {_message(err)}") from err
            raise self._classify(err, "eth_sendRawTransaction") from err

    def receipt(self, tx_hash: str) -> Receipt | None:
        """The receipt of ``tx_hash``, or None while it is not mined (or unknown to the node).

        Read as raw JSON-RPC: web3's receipt formatters checksum every log's address, which costs more than
        the call itself for a batch of hundreds of logs.
        """
        self.connect()
        with self._mapped("eth_getTransactionReceipt"):
            response = self._provider.make_request("eth_getTransactionReceipt", [tx_hash])  # type: ignore[arg-type]
        if "error" in response:
            raise TransientChainError(f"eth_getTransactionReceipt failed: {response['error']}")
        raw = response.get("result")
        if not raw:
            return None
        return self._receipt(raw)

    def wait_for_receipt(self, tx_hash: str, *, timeout: float = 60.0) -> Receipt | None:
        """Poll every ``poll_interval`` seconds until mined; None after ``timeout``."""
        deadline = time.monotonic() + timeout
        while True:
            found = self.receipt(tx_hash)
            if found is not None or time.monotonic() >= deadline:
                return found
            time.sleep(self.poll_interval)

    # --- helpers --------------------------------------------------------------------------------------

    @staticmethod
    def _receipt(raw: dict[str, Any]) -> Receipt:
        contract_address = raw.get("contractAddress")
        return Receipt(
            tx_hash=str(raw["transactionHash"]).lower(),
            status=int(str(raw["status"]), 16),
            block_number=int(str(raw["blockNumber"]), 16),
            block_hash=str(raw["blockHash"]).lower(),
            gas_used=int(str(raw["gasUsed"]), 16),
            contract_address=Web3.to_checksum_address(contract_address) if contract_address else None,
            raw_logs=tuple(raw["logs"]),
        )

    def _classify(self, err: Web3RPCError, what: str) -> ChainError:
        message = _message(err)
        refusal = classify_refusal(message)
        if refusal == Refusal.NO_FUNDS:
            return InsufficientFunds(f"{what}: the anchor account {self.address} cannot pay for gas ({message}).")
        if isinstance(err, (RequestTimedOut, TooManyRequests)) or refusal == Refusal.TRANSIENT:
            return TransientChainError(f"{what}: {message}")
        return PermanentChainError(f"{what}: {message}")

    @contextmanager
    def _mapped(self, what: str, *, classify_rpc: bool = True) -> Iterator[None]:
        """Turn web3/requests failures into the adapter's errors (``raise ... from err``)."""
        try:
            yield
        except ContractLogicError as err:
            name, args = decode_revert(err.data if isinstance(err.data, (str, bytes)) else None)
            detail = f"{name}({', '.join(f'{k}={v}' for k, v in args.items())})" if name else str(err.message)
            raise ContractReverted(f"{what}: the contract reverted: {detail}", error_name=name,
                                   error_args=args) from err
        except (ProviderConnectionError, TimeExhausted, OSError) as err:
            # requests' ConnectionError/Timeout/HTTPError are OSErrors.
            raise TransientChainError(
                f"{what}: the node at {self.rpc_url} is unreachable ({err.__class__.__name__}: {err})"
            ) from err
        except Web3RPCError as err:
            if not classify_rpc:
                raise
            raise self._classify(err, what) from err
