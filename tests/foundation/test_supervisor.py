"""The supervisor of `make run`'s children, on fake processes and a fake clock: restarts with doubling backoff up
to a cap, the delay reset after a stable run, other children untouched, every exit reported."""

from __future__ import annotations

from pathlib import Path

from finance_portal.portal import supervisor as sup


class FakeProc:
    pids = iter(range(1000, 2000))

    def __init__(self) -> None:
        self.pid = next(self.pids)
        self.returncode: int | None = None

    def poll(self) -> int | None:
        return self.returncode

    def crash(self, code: int = -9) -> None:
        self.returncode = code


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def make():  # type: ignore[no-untyped-def]
    said: list[str] = []
    clock = Clock()
    s = sup.Supervisor(lambda cmd, env, log: FakeProc(), said.append, clock)  # type: ignore[arg-type,return-value]
    worker = s.start("worker", ["celery"], {}, Path("worker.log"))
    web = s.start("web", ["gunicorn"], {}, Path("web.log"))
    return s, worker, web, clock, said


def crash_and_restart(s, child, clock) -> float:  # type: ignore[no-untyped-def]
    """Crash ``child`` now; return how long the supervisor waited before starting it again."""
    child.proc.crash()
    s.check()
    crashed_at = clock.now
    while child.restart_at is not None:
        clock.now += 0.5
        s.check()
    return clock.now - crashed_at


def test_a_crashed_child_is_restarted_with_doubling_backoff_up_to_the_cap(tmp_path):
    s, worker, web, clock, said = make()
    first_web = web.proc
    delays = [crash_and_restart(s, worker, clock) for _ in range(9)]
    assert delays == [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 60.0, 60.0, 60.0]
    assert worker.restarts == 9 and worker.history == [-9] * 9
    assert web.proc is first_web and s.running("web")  # the web was never touched
    assert said[0] == "worker exited with code -9 after 0 s; restarting in 1 s (see worker.log)"
    assert any(line.startswith("worker: started again (restart 9, pid ") for line in said)


def test_the_backoff_resets_after_a_stable_run():
    s, worker, _web, clock, _said = make()
    assert [crash_and_restart(s, worker, clock) for _ in range(3)] == [1.0, 2.0, 4.0]
    clock.now += sup.STABLE_AFTER
    s.check()
    assert crash_and_restart(s, worker, clock) == 1.0


def test_a_running_child_is_left_alone():
    s, worker, web, clock, said = make()
    procs = (worker.proc, web.proc)
    for _ in range(10):
        clock.now += 1
        s.check()
    assert (worker.proc, web.proc) == procs and said == []
