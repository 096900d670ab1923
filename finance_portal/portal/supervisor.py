"""Keeps ``make run``'s children alive: a worker, beat or web process that exits is started again, with backoff.

A newcomer must know three things. A crash of one child never stops the others (the web keeps serving while
the worker comes back). Restarts back off exponentially (``BACKOFF_START`` doubling up to ``BACKOFF_MAX``
seconds) so a child that dies at once on start does not spin, and the delay resets once a child has run for
``STABLE_AFTER`` seconds. Every exit and restart is reported through ``say`` with the exit code and the log
file. Stopping (Ctrl-C) is the caller's: ``stop_all`` signals every child's process group.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

BACKOFF_START = 1.0
BACKOFF_MAX = 60.0
STABLE_AFTER = 60.0

Spawn = Callable[[list[str], dict[str, str], Path], "subprocess.Popen[bytes]"]


@dataclass
class Child:
    name: str
    cmd: list[str]
    env: dict[str, str]
    log: Path
    proc: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0
    restarts: int = 0
    backoff: float = BACKOFF_START
    restart_at: float | None = None  # when an exited child is due to start again
    history: list[int] = field(default_factory=list)  # exit codes, oldest first


class Supervisor:
    def __init__(self, spawn: Spawn, say: Callable[[str], None], clock: Callable[[], float] = time.monotonic) -> None:
        self.spawn, self.say, self.clock = spawn, say, clock
        self.children: list[Child] = []

    def start(self, name: str, cmd: list[str], env: dict[str, str], log: Path) -> Child:
        child = Child(name=name, cmd=cmd, env=env, log=log)
        self._launch(child)
        self.children.append(child)
        return child

    def _launch(self, child: Child) -> None:
        child.proc = self.spawn(child.cmd, child.env, child.log)
        child.started_at = self.clock()
        child.restart_at = None

    def check(self) -> None:
        """One round: note children that exited, schedule their restart, start those that are due."""
        now = self.clock()
        for child in self.children:
            proc = child.proc
            if child.restart_at is not None:
                if now >= child.restart_at:
                    child.restarts += 1
                    self._launch(child)
                    pid = child.proc.pid if child.proc is not None else "?"
                    self.say(f"{child.name}: started again (restart {child.restarts}, pid {pid})")
                continue
            if proc is None or proc.poll() is None:
                if now - child.started_at >= STABLE_AFTER:
                    child.backoff = BACKOFF_START  # ran long enough: the next crash restarts quickly again
                continue
            code = proc.returncode
            child.history.append(code)
            delay = child.backoff
            child.backoff = min(child.backoff * 2, BACKOFF_MAX)
            child.restart_at = now + delay
            self.say(f"{child.name} exited with code {code} after {now - child.started_at:.0f} s; "
                     f"restarting in {delay:.0f} s (see {child.log})")

    def running(self, name: str) -> bool:
        return any(c.name == name and c.proc is not None and c.proc.poll() is None for c in self.children)

    def stop_all(self, timeout: float = 15.0) -> None:
        """SIGTERM every child's process group, newest first; SIGKILL what is still there after ``timeout``."""
        for child in reversed(self.children):
            if child.proc is not None and child.proc.poll() is None:
                _signal_group(child.proc, signal.SIGTERM)
        for child in self.children:
            if child.proc is None:
                continue
            try:
                child.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                _signal_group(child.proc, signal.SIGKILL)
                child.proc.wait(timeout=timeout)


def _signal_group(proc: subprocess.Popen[bytes], sig: int) -> None:
    try:
        os.killpg(proc.pid, sig)
    except ProcessLookupError:
        pass
