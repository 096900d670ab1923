"""Helpers of the chain adapter's tests and benchmarks: synthetic hash chains, contract calls, waiting for a
condition (never for a time), and a client that fails a test when it calls the node inside a database
transaction."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager

from django.db import connection, transaction

from chain_adapter.client import ChainClient, Receipt
from chain_adapter.contract import AnchoredLog, load_artifact
from chain_adapter.devnet import DEV_ACCOUNTS, rpc_call
from chain_adapter.errors import TransientChainError
from chain_adapter.hashing import ZERO_HASH, keccak256_hex, record_key
from chain_adapter.models import AnchorRecord, AnchorStatus, AnchorTransaction, ContractDeployment, TxStatus
from chain_adapter.outbox import anchor_enqueue

Link = tuple[str, str, str]  # (key, prev_hash, event_hash)


def chains(prefix: str, keys: int, per_key: int, *, interleave: bool = True) -> list[Link]:
    """Synthetic hash chains: ``keys`` keys with ``per_key`` linked events each, in an order that keeps
    every key's events in chain order (interleaved across keys, or key after key)."""
    per = []
    for k in range(keys):
        key = record_key(f"{prefix}-key-{k}")
        prev = ZERO_HASH
        links = []
        for i in range(per_key):
            event = keccak256_hex(f"{prefix}-key-{k}-event-{i}")
            links.append((key, prev, event))
            prev = event
        per.append(links)
    if not interleave:
        return [link for links in per for link in links]
    return [per[k][i] for i in range(per_key) for k in range(keys)]


def enqueue(links: Iterable[Link], *, chunk: int = 500) -> list[int]:
    """Write the links to the outbox through ``anchor_enqueue``, ``chunk`` per transaction (committed)."""
    ids: list[int] = []
    links = list(links)
    for start in range(0, len(links), chunk):
        with transaction.atomic():
            for key, prev, event in links[start:start + chunk]:
                ids.append(anchor_enqueue(key=key, prev_hash=prev, event_hash=event).pk)
    return ids


def last_hashes(links: Iterable[Link]) -> dict[str, str]:
    heads: dict[str, str] = {}
    for key, _prev, event in links:
        heads[key] = event
    return heads


def wait_for(predicate: Callable[[], bool], timeout: float = 60.0, what: str | None = None,
             interval: float = 0.1) -> bool:
    """Poll ``predicate`` until it holds or ``timeout`` seconds passed; returns whether it held. With ``what``,
    a timeout fails the test instead, saying what was awaited."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    held = predicate()
    if not held and what is not None:
        raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
    return held


@contextmanager
def mining_by_hand(url: str) -> Iterator[Callable[[], None]]:
    """The node mines a block only when the test calls the function this yields; automining is restored, and
    whatever waits in the pool mined, at the end (the node is shared by the run)."""
    rpc_call(url, "evm_setAutomine", [False])
    try:
        yield lambda: rpc_call(url, "evm_mine")
    finally:
        rpc_call(url, "evm_setAutomine", [True])
        rpc_call(url, "evm_mine")


def in_flight_unmined(url: str) -> list[str]:
    """Hashes of the stored transactions that were broadcast and wait unmined in the node's pool."""
    hashes = AnchorTransaction.objects.filter(status=TxStatus.SENT).values_list("tx_hash", flat=True)
    return [h for h in hashes if (found := rpc_call(url, "eth_getTransactionByHash", [h]))
            and isinstance(found, dict) and found.get("blockNumber") is None]


def kill_with_a_batch_in_flight(worker, url: str, mine: Callable[[], None],  # type: ignore[no-untyped-def]
                                progressed: Callable[[], bool], *, timeout: float = 90.0) -> list[str]:
    """Mine block by block until ``progressed()`` holds, stop mining, wait until the worker has broadcast a
    transaction the node holds unmined, and SIGKILL the worker's process group there: the kill lands in the
    middle of a batch on any machine, however fast. Returns the hashes left in flight."""
    import signal

    deadline = time.monotonic() + timeout
    while not progressed():
        assert time.monotonic() < deadline, f"no progress while mining by hand; see {worker.log}"
        mine()
        time.sleep(0.02)
    wait_for(lambda: bool(in_flight_unmined(url)), timeout=timeout,
             what=f"a broadcast transaction waiting to be mined (see {worker.log})")
    worker.stop(signal.SIGKILL)
    left = in_flight_unmined(url)
    assert left, "the kill must leave a transaction in flight"
    return left


def all_confirmed(ids: list[int]) -> Callable[[], bool]:
    return lambda: AnchorRecord.objects.filter(pk__in=ids, status=AnchorStatus.CONFIRMED).count() == len(ids)


def client_for(url: str, *, account: int = 0, chain_id: int = 31337) -> ChainClient:
    return ChainClient(rpc_url=url, chain_id=chain_id, private_key=DEV_ACCOUNTS[account][1])


class NoRpcInTransaction(ChainClient):
    """A chain client that fails the test when it calls the node while a database transaction is open.

    ``outer_depth``: the atomic blocks open around the test itself (1 in a ``django_db`` test, 0 with
    ``transaction=True``); deeper means the code under test opened one.
    """

    outer_depth = 0
    calls_in_transaction: list[str] = []

    @contextmanager
    def _mapped(self, what: str, *, classify_rpc: bool = True) -> Iterator[None]:
        if len(connection.atomic_blocks) > self.outer_depth:
            self.calls_in_transaction.append(what)
            raise AssertionError(f"{what} called inside a database transaction")
        with super()._mapped(what, classify_rpc=classify_rpc):
            yield


class BroadcastDrops(NoRpcInTransaction):
    """A client whose connection drops during ``eth_sendRawTransaction``: after the node got the bytes
    (``delivered``) or before. To the transaction manager it looks like a crash at that very point.
    ``spare``: raw transactions that go through normally."""

    def __init__(self, url: str, *, delivered: bool, spare: Iterable[str] = ()) -> None:
        super().__init__(rpc_url=url, chain_id=31337, private_key=DEV_ACCOUNTS[0][1])
        self.delivered = delivered
        self.spare = set(spare)

    def broadcast(self, raw: str) -> None:
        if raw in self.spare:
            return super().broadcast(raw)
        if self.delivered:
            super().broadcast(raw)
        raise TransientChainError("eth_sendRawTransaction: the connection dropped (test)")


def guarded_client(url: str, *, account: int = 0) -> NoRpcInTransaction:
    return NoRpcInTransaction(rpc_url=url, chain_id=31337, private_key=DEV_ACCOUNTS[account][1])


def deploy_bytecode(client: ChainClient, bytecode: str) -> Receipt:
    """Deploy arbitrary ``bytecode`` from the client's account (tests only: no broadcaster runs for it)."""
    gas = client.estimate_gas(to=None, data=bytecode)
    signed = client.sign(to=None, data=bytecode, nonce=client.nonce("pending"), gas=gas, fees=client.fees())
    client.broadcast(signed.raw)
    receipt = client.wait_for_receipt(signed.tx_hash, timeout=30)
    assert receipt is not None and receipt.status == 1, "the deployment was not mined"
    return receipt


def call_data(client: ChainClient, function: str, args: list[object]) -> str:
    contract = client.w3.eth.contract(abi=load_artifact().abi)
    return str(contract.encode_abi(function, args=args))


def send(client: ChainClient, contract: str, function: str, args: list[object]) -> Receipt:
    """Call ``function`` on the contract from the client's account and wait for the receipt.

    Raises ``ContractReverted`` (from gas estimation) when the contract refuses the call.
    """
    data = call_data(client, function, args)
    gas = client.estimate_gas(to=contract, data=data)
    signed = client.sign(to=contract, data=data, nonce=client.nonce("pending"), gas=gas, fees=client.fees())
    client.broadcast(signed.raw)
    receipt = client.wait_for_receipt(signed.tx_hash, timeout=30)
    assert receipt is not None, f"{function} was not mined"
    return receipt


def b32(value: str) -> bytes:
    return bytes.fromhex(value[2:])


def anchored_logs(anvil, deployment: ContractDeployment, keys: list[str] | None = None) -> list[AnchoredLog]:  # type: ignore[no-untyped-def]
    """Every ``Anchored`` log of the deployment (on ``anvil``, anything with a ``url``)."""
    return client_for(anvil.url).anchored_logs(deployment.address, keys=keys, from_block=deployment.block_number)


def assert_anchored_exactly_once(anvil, deployment: ContractDeployment, links: list[Link]) -> None:  # type: ignore[no-untyped-def]
    """Each link has exactly one ``Anchored`` log, its record is confirmed at that log, and every key's
    on-chain head is its last hash."""
    logs = anchored_logs(anvil, deployment)
    assert sorted(log.event_hash for log in logs) == sorted(event for _k, _p, event in links)
    by_hash = {log.event_hash: log for log in logs}
    for record in AnchorRecord.objects.filter(event_hash__in=list(by_hash)):
        log = by_hash[record.event_hash]
        assert record.status == AnchorStatus.CONFIRMED, record
        assert (record.tx_hash, record.block_number, record.log_index) == (
            log.tx_hash, log.block_number, log.log_index)
        assert (record.key, record.prev_hash) == (log.key, log.prev_hash)
    heads = client_for(anvil.url).heads(deployment.address, list(last_hashes(links)))
    assert heads == last_hashes(links)


def assert_nonces_without_gaps(anvil=None) -> None:  # type: ignore[no-untyped-def]
    """The stored transactions' nonces are consecutive (and, given the node, end at its account nonce). A nonce
    counts once, whatever its replaced versions."""
    nonces = sorted(AnchorTransaction.objects.exclude(status__in=[TxStatus.DROPPED, TxStatus.REPLACED])
                    .values_list("nonce", flat=True))
    assert nonces == list(range(nonces[0], nonces[0] + len(nonces)))
    if anvil is not None:
        assert client_for(anvil.url).nonce("latest") == nonces[-1] + 1
