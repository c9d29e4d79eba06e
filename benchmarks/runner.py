"""What the benchmark's sections share: timed fresh processes, project copies, targets.

Every figure is the median over repeats; a process's peak memory is the "Maximum resident set
size" of /usr/bin/time -v (or, without it, the kernel's rusage of the child).
"""

import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from benchmarks.datagen import SIZES, suite_ranges, synthesize
from mlops.config import load_config
from mlops.metrics import METRICS
from tests.conftest import clean_env  # what a project's script runs with, in tests too

REPO = Path(__file__).resolve().parent.parent
BENCHMARKS = REPO / "benchmarks"
PYTHON = sys.executable
# Not resolved: the venv's own bin/, where mlflow, uv and uvicorn are.
VENV_BIN = Path(sys.executable).parent
PROJECT_FILES = ("config.yaml", "data", "gx")
# The step scripts as the CI jobs run them, one process each. Deploy skips a rejected model,
# as run_pipeline.py does; the relaxed gate of a project copy never rejects one.
STEPS: dict[str, tuple[str, ...]] = {
    "validate": ("validate_data.py",),
    "train": ("train_model.py",),
    "evaluate": ("evaluate_model.py",),
    "deploy": ("deploy_model.py", "--skip-if-rejected"),
}
PIPELINE_SCRIPT = "run_pipeline.py"  # all four steps in one process, as `make pipeline` runs
PACKAGES = ("mlflow", "great-expectations", "scikit-learn", "pandas", "numpy", "matplotlib")
GNU_TIME = Path("/usr/bin/time")
STEP_TIMEOUT = 3600.0


class BenchmarkError(Exception):
    """A benchmark run failed; the message says which command and why."""


def progress(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def median(values: Iterable[float]) -> float:
    return float(statistics.median(values))


# --------------------------------------------------------------------------- targets


@dataclass(frozen=True)
class Target:
    name: str
    value: float | None  # None: the section or size was not run
    limit: float
    unit: str
    at_most: bool = True

    @property
    def verdict(self) -> str:
        if self.value is None:
            return "not run"
        holds = self.value <= self.limit if self.at_most else self.value >= self.limit
        return "hold" if holds else "miss"

    @property
    def bound(self) -> str:
        return f"{'≤' if self.at_most else '≥'} {self.limit:g} {self.unit}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "value": self.value,
            "limit": self.limit,
            "unit": self.unit,
            "at_most": self.at_most,
            "verdict": self.verdict,
        }


def get(results: dict[str, Any] | None, *keys: str) -> Any:
    """results[k1][k2]..., or None where a level is missing (a section or size not run)."""
    value: Any = results
    for key in keys:
        if not isinstance(value, dict) or key not in value:
            return None
        value = value[key]
    return value


# --------------------------------------------------------------------------- fresh processes


@dataclass(frozen=True)
class Run:
    """One finished process: wall time from the parent, peak resident memory, its output."""

    seconds: float
    peak_mb: float
    stdout: str
    stderr: str

    def last_json(self) -> dict[str, Any]:
        """The JSON line a benchmark worker prints last."""
        try:
            return json.loads(self.stdout.strip().splitlines()[-1])
        except (IndexError, json.JSONDecodeError):
            raise BenchmarkError(
                f"expected a JSON line from the worker, got: {self.stdout[-500:]!r}"
            ) from None


def _gnu_time_works() -> bool:
    if not GNU_TIME.is_file():
        return False
    probe = subprocess.run([str(GNU_TIME), "-v", "true"], capture_output=True, text=True)
    return probe.returncode == 0 and "Maximum resident set size" in probe.stderr


def _gnu_time_peak_kb(report: Path) -> float:
    for line in report.read_text(encoding="utf-8").splitlines():
        if "Maximum resident set size" in line:
            return float(line.rsplit(":", 1)[1])
    raise BenchmarkError(f"{report}: no 'Maximum resident set size' in the /usr/bin/time report")


def _kill_group(pid: int, sig: signal.Signals) -> None:
    try:
        os.killpg(pid, sig)
    except ProcessLookupError:
        pass


class Runner:
    """Runs commands as fresh processes and measures them; keeps their output in logs/."""

    def __init__(self, scratch: Path) -> None:
        self.logs = scratch / "logs"
        self.logs.mkdir(parents=True)
        self.gnu_time = _gnu_time_works()
        self._count = 0

    @property
    def memory_method(self) -> str:
        if self.gnu_time:
            return "/usr/bin/time -v (Maximum resident set size)"
        return (
            "/usr/bin/time not found (Debian package `time`): ru_maxrss of each child from "
            "os.wait4, the per-child form of getrusage(RUSAGE_CHILDREN)"
        )

    def run(
        self,
        command: list[str | Path],
        cwd: Path,
        env: dict[str, str],
        timeout: float = STEP_TIMEOUT,
        exit_code: int = 0,
    ) -> Run:
        """Run `command` to its end; any exit code but `exit_code` is a BenchmarkError."""
        self._count += 1
        log = self.logs / f"{self._count:04d}"
        report = log.with_suffix(".time")
        prefix = [str(GNU_TIME), "-v", "-o", str(report)] if self.gnu_time else []
        timed_out = threading.Event()

        def on_timeout() -> None:
            timed_out.set()
            _kill_group(process.pid, signal.SIGKILL)

        with log.with_suffix(".out").open("w") as out, log.with_suffix(".err").open("w") as err:
            started = time.perf_counter()
            # Own session, so a timeout or Ctrl-C can stop the command and all its children.
            process = subprocess.Popen(
                [*prefix, *map(str, command)],
                cwd=cwd,
                env=env,
                stdout=out,
                stderr=err,
                start_new_session=True,
            )
            watchdog = threading.Timer(timeout, on_timeout)
            watchdog.start()
            try:
                # wait4 rather than wait: it returns this child's own peak memory (the fallback).
                _, status, usage = os.wait4(process.pid, 0)
            except BaseException:
                _kill_group(process.pid, signal.SIGKILL)
                process.wait()
                raise
            finally:
                watchdog.cancel()
            seconds = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)  # reaped above, not by Popen
        stderr = log.with_suffix(".err").read_text(errors="replace")
        if process.returncode != exit_code:
            why = (
                f"timed out after {timeout:.0f} s"
                if timed_out.is_set()
                else f"exited {process.returncode} (expected {exit_code})"
            )
            tail = "\n".join(stderr.strip().splitlines()[-15:])
            raise BenchmarkError(
                f"{' '.join(map(str, command))} {why} (cwd {cwd}); last lines of stderr:\n{tail}"
            )
        peak_kb = _gnu_time_peak_kb(report) if self.gnu_time else float(usage.ru_maxrss)
        stdout = log.with_suffix(".out").read_text(errors="replace")
        return Run(seconds, peak_kb / 1024, stdout, stderr)


# --------------------------------------------------------------------------- project copies


class Workspace:
    """Temporary project copies (config.yaml, data/, gx/) and the generated data sets."""

    def __init__(self, scratch: Path) -> None:
        self.scratch = scratch
        self.config = load_config(REPO / "config.yaml")
        self.suite = REPO / "gx" / "expectations" / f"{self.config.data.expectation_suite}.json"
        self._data: dict[str, Path] = {}
        self._sizes: dict[Path, str] = {}  # project copy -> the size of its data
        self.deployed: Path | None = None  # a bundled-data project whose pipeline deployed

    def data_file(self, size: str) -> Path:
        """The CSV for a size: the bundled file, or one generated once per benchmark run."""
        if size not in self._data:
            rows = SIZES[size]
            if rows is None:
                self._data[size] = self.config.data_path
            else:
                progress(f"generating {rows:,} rows from {self.config.data.path}")
                path = self.scratch / "datasets" / f"{size}.csv"
                path.parent.mkdir(exist_ok=True)
                source = pd.read_csv(self.config.data_path)
                synthesize(source, rows, suite_ranges(self.suite)).to_csv(path, index=False)
                self._data[size] = path
        return self._data[size]

    def rows(self, size: str) -> int:
        return SIZES[size] or len(pd.read_csv(self.data_file(size), usecols=[0]))

    def project(self, size: str = "bundled") -> Path:
        """A fresh project copy (no store, no outputs, no gx/uncommitted) holding `size` data.

        Its gate thresholds are the least strict values: the benchmark measures cost, not model
        quality, and a model the gate rejects would skip the deploy step's work.
        """
        root = self.scratch / f"project-{len(self._sizes) + 1:03d}-{size}"
        root.mkdir()
        self._sizes[root] = size
        for name in PROJECT_FILES:
            source = REPO / name
            if source.is_dir():
                shutil.copytree(source, root / name, ignore=shutil.ignore_patterns("uncommitted"))
            else:
                shutil.copy2(source, root / name)
        shutil.copyfile(self.data_file(size), root / self.config.data.path)
        config_file = root / "config.yaml"
        raw = yaml.safe_load(config_file.read_text(encoding="utf-8"))
        raw["gate"]["thresholds"] = {
            name: METRICS[name].lowest if METRICS[name].greater_is_better else METRICS[name].highest
            for name in raw["gate"]["thresholds"]
        }
        config_file.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
        # The suite bounds the row count near the bundled file's; generated sizes exceed it.
        suite_file = root / self.suite.relative_to(REPO)
        suite = json.loads(suite_file.read_text(encoding="utf-8"))
        largest = max(rows or 0 for rows in SIZES.values())
        for rule in suite["expectations"]:
            if rule["type"] == "expect_table_row_count_to_be_between":
                rule["kwargs"]["max_value"] = max(rule["kwargs"]["max_value"], largest)
        suite_file.write_text(json.dumps(suite, indent=2), encoding="utf-8")
        return root

    def note_deployed(self, root: Path) -> bool:
        """Whether the pipeline deployed in `root`; the serving section reuses such a project."""
        deployed = (root / "outputs" / "deployment.json").is_file()
        if deployed and self.deployed is None and self._sizes.get(root) == "bundled":
            self.deployed = root
        return deployed


def run_steps(runner: Runner, root: Path, python_flags: tuple[str, ...] = ()) -> dict[str, Run]:
    """The four step scripts against the project at root, each a fresh process, in order."""
    config = root / "config.yaml"
    return {
        name: runner.run(
            [PYTHON, *python_flags, REPO / script, "--config", config, *flags], root, clean_env()
        )
        for name, (script, *flags) in STEPS.items()
    }


def run_pipeline(runner: Runner, root: Path, python_flags: tuple[str, ...] = ()) -> Run:
    """run_pipeline.py against the project at root: all four steps in one fresh process."""
    command = [PYTHON, *python_flags, REPO / PIPELINE_SCRIPT, "--config", root / "config.yaml"]
    return runner.run(command, root, clean_env())


# --------------------------------------------------------------------------- the sections' input


@dataclass
class Context:
    """What a section's `run` gets: the command line's choices and the shared helpers."""

    runner: Runner
    workspace: Workspace
    scratch: Path
    sizes: list[str]
    repeats: int
    requests: int
    batches: int

    def deployed_project(self) -> Path:
        """A bundled-data project with a champion: one a section already deployed, else a new
        one (run_pipeline.py on a fresh copy)."""
        if self.workspace.deployed is None:
            progress("running the pipeline on the bundled data to get a champion")
            root = self.workspace.project("bundled")
            run_pipeline(self.runner, root)
            if not self.workspace.note_deployed(root):
                raise BenchmarkError(f"the pipeline in {root} did not deploy a champion")
        return self.workspace.deployed


# --------------------------------------------------------------------------- where it ran


def _cpu_model() -> str | None:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or None


def _memory_gb() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 1024**2, 1)
    except OSError:
        pass
    return None


def _git(*args: str) -> str:
    # --no-optional-locks: never take the index lock others working in the checkout need.
    result = subprocess.run(
        ["git", "--no-optional-locks", "-C", str(REPO), *args], capture_output=True, text=True
    )
    return result.stdout.strip() if result.returncode == 0 else ""


def machine() -> dict[str, Any]:
    """The machine and software a measurement ran on."""
    return {
        "cpu_count": os.cpu_count(),
        "cpu_model": _cpu_model(),
        "memory_gb": _memory_gb(),
        "python": platform.python_version(),
        "packages": {name: version(name) for name in PACKAGES},
    }


def source_revision() -> dict[str, Any]:
    """The commit measured, and whether the working tree had changes on top of it."""
    return {
        "git_commit": _git("rev-parse", "HEAD") or None,
        "git_dirty": bool(_git("status", "--porcelain", "--untracked-files=no")),
    }
