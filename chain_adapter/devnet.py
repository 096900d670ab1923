"""Starting and stopping a local Anvil devnet (from the npm package ``@foundry-rs/anvil``).

Used by ``make run`` (a long-running node with its state on disk, one block a second) and by the test
suite (a node of its own on a free port). No web3 here: readiness is checked with a plain JSON-RPC call.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import signal
import socket
import subprocess
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEV_MNEMONIC = "test test test test test test test test test test test junk"
# Anvil's first accounts from DEV_MNEMONIC: public development keys, valid only on a devnet. The first is the
# anchor account of development; with ANCHOR_SENDERS > 1 the next ones are its extra anchor senders there.
DEV_ACCOUNTS = (
    ("0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266", "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"),
    ("0x70997970C51812dc3A010C7d01b50e0d17dc79C8", "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"),
    ("0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC", "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a"),
    ("0x90F79bf6EB2c4f870365E785982E1f101E93b906", "0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6"),
)
# Chain ids of development networks (Anvil/Hardhat 31337, Ganache/geth --dev 1337): the only chains on which
# the public keys above are accepted. Settings and the chain client both check against these.
DEVNET_CHAIN_IDS = frozenset({31337, 1337})
DEV_PRIVATE_KEYS = frozenset(key.lower() for _address, key in DEV_ACCOUNTS)


class DevnetError(RuntimeError):
    pass


def anvil_binary() -> Path:
    """The Anvil executable shipped by the npm package for this platform."""
    machine = platform.machine().lower()
    arch = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}.get(machine, machine)
    system = platform.system().lower()
    candidate = ROOT / "node_modules" / "@foundry-rs" / f"anvil-{system}-{arch}" / "bin" / "anvil"
    if candidate.exists():
        return candidate
    found = shutil.which("anvil")
    if found:
        return Path(found)
    raise DevnetError(
        f"Anvil not found at {candidate.relative_to(ROOT)}: run 'npm install' (package.json pins @foundry-rs/anvil)."
    )


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def rpc_call(url: str, method: str, params: list[object] | None = None, timeout: float = 2.0) -> object:
    payload = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params or []}).encode()
    request = urllib.request.Request(url, data=payload, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 (loopback only)
        body = json.loads(response.read())
    if "error" in body:
        raise DevnetError(f"{method} failed: {body['error']}")
    return body["result"]


def chain_id_at(url: str) -> int | None:
    """The chain id answered at ``url``, or None when nothing answers."""
    try:
        return int(str(rpc_call(url, "eth_chainId", timeout=1.0)), 16)
    except (OSError, ValueError, DevnetError):
        return None


@dataclass
class Anvil:
    """One Anvil process. ``start()`` waits until it answers JSON-RPC; ``stop()`` ends it with SIGTERM."""

    port: int = 0
    chain_id: int = 31337
    state_file: Path | None = None
    block_time: float | None = None
    state_interval: int | None = None
    log_file: Path | None = None
    extra_args: list[str] = field(default_factory=list)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def command(self) -> list[str]:
        args = [
            str(anvil_binary()),
            "--host", "127.0.0.1",
            "--port", str(self.port),
            "--chain-id", str(self.chain_id),
            "--mnemonic", DEV_MNEMONIC,
            "--accounts", "10",
            "--silent",
        ]
        if self.block_time:
            args += ["--block-time", str(self.block_time)]
        if self.state_file:
            args += ["--state", str(self.state_file)]
            if self.state_interval:
                args += ["--state-interval", str(self.state_interval)]
        return args + self.extra_args

    def start(self, timeout: float = 20.0) -> Anvil:
        if not self.port:
            self.port = free_port()
        if chain_id_at(self.url) is not None:
            raise DevnetError(f"Port {self.port} already answers JSON-RPC: another node runs there.")
        if self.state_file:
            self.state_file.parent.mkdir(parents=True, exist_ok=True)
        out = open(self.log_file, "ab") if self.log_file else subprocess.DEVNULL  # noqa: SIM115
        self.process = subprocess.Popen(
            self.command(), stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise DevnetError(f"Anvil exited with code {self.process.returncode} at start-up.")
            if chain_id_at(self.url) == self.chain_id:
                return self
            time.sleep(0.05)
        self.stop()
        raise DevnetError(f"Anvil did not answer on {self.url} within {timeout:.0f} s.")

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM (Anvil writes its state file), then SIGKILL if it lingers."""
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=timeout)

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)
