"""How every benchmark reports: a figure, its unit, its bar, pass or miss, the load average when it was taken,
and the machine; a printed table and the raw figures appended as JSON to ``docs/bench-results/``.

The one thing to know: a figure is only comparable with figures of the same run (same machine, same load),
so each benchmark measures its baseline and its candidate in one ``Report`` and prints them together. The
machine is shared: ``load`` (the 1-minute load average when the figure was taken) says how noisy it was.

    report = Report("portal", quick=False)
    report.add("marketplace API p95", 42.0, "ms", bar=150, better="lower", sizes={"bills": 1000})
    print(report.table())
    report.write()  # docs/bench-results/<UTC date>-portal.json (a list of runs; this run is appended)
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import platform
import subprocess
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
RESULTS_DIR = ROOT / "docs" / "bench-results"


def load_average() -> float:
    return round(os.getloadavg()[0], 2)


def percentile(values: Sequence[float], p: float) -> float:
    """The ``p``-th percentile (0–100) by linear interpolation between closest ranks (numpy's default)."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = (len(ordered) - 1) * p / 100
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def machine() -> dict[str, Any]:
    """Cores, memory, CPU model, kernel, Python and (when installed) Anvil: what a reader needs to compare."""
    model, memory_kib = "unknown CPU", 0
    cpuinfo, meminfo = Path("/proc/cpuinfo"), Path("/proc/meminfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    if meminfo.exists():
        for line in meminfo.read_text(encoding="utf-8").splitlines():
            if line.startswith("MemTotal:"):
                memory_kib = int(line.split()[1])
                break
    anvil = ""
    binary = ROOT / "node_modules" / "@foundry-rs" / "anvil-linux-amd64" / "bin" / "anvil"
    if binary.exists():
        try:
            anvil = subprocess.run([str(binary), "--version"], capture_output=True, text=True, timeout=10).stdout
        except (OSError, subprocess.SubprocessError):
            anvil = ""
    return {
        "cores": os.cpu_count(),
        "memory_gib": round(memory_kib / 1024 / 1024, 1),
        "cpu": model,
        "system": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "anvil": anvil.splitlines()[0].strip() if anvil else "",
    }


def machine_line(info: dict[str, Any] | None = None) -> str:
    m = info or machine()
    return (f"{m['cores']} cores ({m['cpu']}), {m['memory_gib']} GiB, {m['system']}, Python {m['python']}"
            + (f", {m['anvil']}" if m["anvil"] else ""))


@dataclass
class Figure:
    """One measured value. ``bar`` is the target (None: reported without a target); ``better`` says which side
    of the bar passes ("lower": value ≤ bar, "higher": value ≥ bar)."""

    name: str
    value: float
    unit: str
    bar: float | None = None
    better: str = "lower"
    load: float = field(default_factory=load_average)
    sizes: dict[str, Any] = field(default_factory=dict)
    raw: dict[str, Any] = field(default_factory=dict)
    note: str = ""

    @property
    def verdict(self) -> str:
        if self.bar is None or math.isnan(self.value):
            return "" if self.bar is None else "MISS"
        ok = self.value <= self.bar if self.better == "lower" else self.value >= self.bar
        return "pass" if ok else "MISS"


def _fmt(value: float) -> str:
    if math.isnan(value):
        return "n/a"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:,.1f}"
    return f"{value:,.2f}"


class Report:
    """The figures of one benchmark run, printed as one table and written as one JSON run."""

    def __init__(self, name: str, *, quick: bool = False, title: str = "") -> None:
        self.name = name
        self.quick = quick
        self.title = title or name
        self.started = dt.datetime.now(dt.UTC)
        self.machine = machine()
        self.figures: list[Figure] = []
        self.notes: list[str] = []

    def add(self, name: str, value: float, unit: str, *, bar: float | None = None, better: str = "lower",
            sizes: dict[str, Any] | None = None, raw: dict[str, Any] | None = None, note: str = "") -> Figure:
        if better not in ("lower", "higher"):
            raise ValueError("better is 'lower' or 'higher'")
        figure = Figure(name=name, value=float(value), unit=unit, bar=bar, better=better, sizes=sizes or {},
                        raw=raw or {}, note=note)
        self.figures.append(figure)
        return figure

    def note(self, text: str) -> None:
        self.notes.append(text)

    @property
    def misses(self) -> list[Figure]:
        return [f for f in self.figures if f.verdict == "MISS"]

    def table(self) -> str:
        width = max([len(f.name) for f in self.figures] + [6])
        lines = [
            "",
            f"== {self.title}{' (quick: small data, figures not comparable with the full run)' if self.quick else ''}",
            f"machine: {machine_line(self.machine)}; started {self.started:%Y-%m-%d %H:%M} UTC",
            f"{'figure':<{width}} | {'value':>10} | {'unit':<9} | {'bar':>12} | {'':<4} | load",
        ]
        for f in self.figures:
            bar = "" if f.bar is None else ("≤ " if f.better == "lower" else "≥ ") + _fmt(f.bar)
            lines.append(f"{f.name:<{width}} | {_fmt(f.value):>10} | {f.unit:<9} | {bar:>12} | {f.verdict:<4} | "
                         f"{f.load:.2f}" + (f"  ({f.note})" if f.note else ""))
        lines.extend(f"note: {n}" for n in self.notes)
        misses = self.misses
        lines.append(f"{len(self.figures)} figures, {len(misses)} missing their bar"
                     + (": " + ", ".join(m.name for m in misses) if misses else ""))
        return "\n".join(lines)

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "quick": self.quick,
            "started": self.started.isoformat(),
            "finished": dt.datetime.now(dt.UTC).isoformat(),
            "machine": self.machine,
            "load_at_end": list(os.getloadavg()),
            "figures": [{**asdict(f), "verdict": f.verdict} for f in self.figures],
            "notes": self.notes,
        }

    def write(self, directory: Path | None = None) -> Path:
        """Append this run to ``<directory>/<UTC date>-<name>.json`` (a JSON list of runs) and return the path.
        ``BENCH_RESULTS_DIR`` overrides the default ``docs/bench-results``."""
        # Quick runs (small data, not comparable) go under .run/ unless told otherwise: the committed folder
        # holds the full runs the README quotes.
        default = ROOT / ".run" / "bench-results" if self.quick else RESULTS_DIR
        directory = directory or Path(os.environ.get("BENCH_RESULTS_DIR") or default)
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / f"{self.started:%Y-%m-%d}-{self.name}.json"
        runs: list[Any] = []
        if path.exists():
            try:
                loaded = json.loads(path.read_text(encoding="utf-8"))
                runs = loaded if isinstance(loaded, list) else [loaded]
            except json.JSONDecodeError:
                runs = []
        runs.append(self.as_dict())
        path.write_text(json.dumps(runs, indent=1, default=str) + "\n", encoding="utf-8")
        return path

    def finish(self, directory: Path | None = None) -> Path:
        """Print the table and write the JSON: the end of every benchmark."""
        print(self.table())
        path = self.write(directory)
        print(f"raw figures appended to {path}")
        return path


def bench_mode() -> str:
    """``full`` (``make bench``), ``quick`` (``make bench-quick``: the same code on small data) or ``smoke`` (the
    once-per-``make test`` run with tiny sizes that proves the benchmark code still works)."""
    mode = os.environ.get("BENCH_MODE", "full")
    if mode not in ("full", "quick", "smoke"):
        raise ValueError("BENCH_MODE is full, quick or smoke")
    return mode
