"""Reading py-spy's raw output (folded stacks): where a process's threads spend their wall time.

``py-spy record --format raw --idle --threads`` writes one line per distinct stack, ``frame;frame;... count``,
a frame naming the thread before the calls (and, with ``--subprocesses``, frames naming the processes before it). ``summarize`` keeps the threads whose name contains ``thread``, and gives
each function's inclusive share of their samples (the share of wall time it was on the stack, waiting or not)
and the callees of the functions asked for, by line, so a report can say which statement takes the time.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

_LOCATION = re.compile(r" \((?P<file>[^()]*?):(?P<line>\d+)\)$")


@dataclass
class Summary:
    samples: int = 0
    inclusive: Counter[str] = field(default_factory=Counter)  # "function (file)" → samples
    callees: dict[str, Counter[str]] = field(default_factory=dict)  # function → "file:line → callee" → samples

    def share(self, name: str) -> float:
        return self.inclusive[name] / self.samples if self.samples else 0.0

    def table(self, *, prefix: str, top: int = 25) -> str:
        lines = [f"{self.samples:,} samples of the threads profiled; share of their wall time on the stack:"]
        for name, count in self.inclusive.most_common():
            if prefix in name and len(lines) <= top:
                lines.append(f"  {100 * count / self.samples:5.1f} %  {name}")
        for function, counter in self.callees.items():
            lines.append(f"\n{function}, by line:")
            for where, count in counter.most_common(8):
                lines.append(f"  {100 * count / self.samples:5.1f} %  {where}")
        return "\n".join(lines)


def _name(frame: str) -> str:
    match = _LOCATION.search(frame)
    return frame if match is None else f"{frame[:match.start()]} ({match['file']})"


def summarize(path: Path, *, thread: str, functions: tuple[str, ...] = ()) -> Summary:
    """Summarize the folded stacks in ``path`` for the threads whose name contains ``thread``; for each of
    ``functions`` (a function's name as py-spy prints it, e.g. ``Broadcaster._plan``), its callees by line."""
    summary = Summary(callees={f: Counter() for f in functions})
    for raw in path.read_text(encoding="utf-8", errors="replace").splitlines():
        stack, _, count_text = raw.rpartition(" ")
        if not count_text.isdigit():
            continue
        frames = stack.split(";")
        # With --subprocesses, "process <pid>:<command>" frames come first; then the thread; then the calls.
        at = next((i for i, f in enumerate(frames) if f.startswith("thread (")), None)
        if at is None or thread not in frames[at]:
            continue
        frames = frames[at:]
        count = int(count_text)
        summary.samples += count
        for name in {_name(f) for f in frames[1:]}:
            summary.inclusive[name] += count
        for index, frame in enumerate(frames[1:], start=1):
            function = frame.split(" (")[0]
            if function in summary.callees:
                match = _LOCATION.search(frame)
                callee = frames[index + 1].split(" (")[0] if index + 1 < len(frames) else "(itself)"
                where = f"{match['file']}:{match['line']}" if match else frame
                summary.callees[function][f"{where} → {callee}"] += count
    return summary
