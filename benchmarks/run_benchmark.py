"""Benchmark what the pipeline costs beyond the model itself (`make benchmark`).

    .venv/bin/python benchmarks/run_benchmark.py [--sections overhead,validation,setup,serving]
        [--sizes bundled,100k,1m] [--repeats 3] [--requests 200] [--batches 20]

Every figure is the median over --repeats runs, each in a fresh process; peak memory is the
"Maximum resident set size" of /usr/bin/time -v (or, without it, the kernel's rusage of the
child). Sections:

  overhead    validate -> train -> evaluate -> deploy, each step a fresh process against a fresh
              embedded store in a temporary project copy, versus benchmarks/bare.py (the same
              model on the same split, nothing else)
  validation  the project's Great Expectations suite versus the same rules in plain pandas
              (benchmarks/pandas_rules.py)
  setup       requirements.txt into a fresh venv with pip and with uv, cold and warm cache
  serving     `mlflow models serve` of the champion: start-up, single-row latency and batch
              throughput, versus predict in process
  pr          a pull request's pipeline run and pr-comment.yml under act (warm), per job, and
              the estimated time from opening the pull request to its comment on GitHub
              (benchmarks/pr_feedback.py)
  gate        the gate's paired bootstrap: 1000 resamples of every metric, candidate and
              champion, on 200,000 held-out rows (benchmarks/gate_bootstrap.py)

Sizes 100k and 1m are generated from the bundled data at run time (benchmarks/datagen.py).
Project copies get the least strict gate thresholds, so deploy always does its full work.
Prints tables with the issue's targets and writes benchmarks/results/latest.json.
"""

import argparse
import http.client
import json
import math
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any

# Run by path (make benchmark); mlops/ and benchmarks/ live in the repository root.
REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import yaml  # noqa: E402

from benchmarks.datagen import SIZES, suite_ranges, synthesize  # noqa: E402
from benchmarks.gate_bootstrap import bench_gate  # noqa: E402
from benchmarks.pr_feedback import bench_pr_feedback  # noqa: E402
from benchmarks.predict_inprocess import request_rows  # noqa: E402
from mlops.config import load_config  # noqa: E402
from mlops.metrics import METRICS  # noqa: E402
from mlops.serving import model_server, request_body  # noqa: E402

SECTIONS = ("overhead", "validation", "setup", "serving", "pr", "gate")
PYTHON = sys.executable
# Not resolved: the venv's own bin/, where mlflow, uv and uvicorn are.
VENV_BIN = Path(sys.executable).parent
BENCHMARKS = REPO / "benchmarks"
RESULTS_FILE = BENCHMARKS / "results" / "latest.json"
PROJECT_FILES = ("config.yaml", "data", "gx")
# The local pipeline as `make pipeline` runs it.
STEPS: dict[str, tuple[str, ...]] = {
    "validate": ("validate_data.py",),
    "train": ("train_model.py",),
    "evaluate": ("evaluate_model.py",),
    "deploy": ("deploy_model.py", "--skip-if-rejected"),
}
GNU_TIME = Path("/usr/bin/time")
STEP_TIMEOUT = 3600.0
INSTALL_TIMEOUT = 3600.0
BATCH_ROWS = 1000
WARMUP_REQUESTS = 10


class BenchmarkError(Exception):
    """A benchmark run failed; the message says which command and why."""


def progress(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def median(values: Iterable[float]) -> float:
    return float(statistics.median(values))


def clean_env(**extra: str) -> dict[str, str]:
    """This environment without tracking, CI or pipeline settings that would leak into a run."""
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "GITHUB_", "PIPELINE_"))
    }
    env.update(
        MLFLOW_DISABLE_TELEMETRY="true",
        GX_ANALYTICS_ENABLED="false",
        MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR="false",
    )
    env.update(extra)
    return env


# --------------------------------------------------------------------------- fresh processes


@dataclass(frozen=True)
class Run:
    """One finished process: wall time from the parent, peak resident memory, its stdout."""

    seconds: float
    peak_mb: float
    stdout: str

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
    ) -> Run:
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
        if process.returncode != 0:
            why = (
                f"timed out after {timeout:.0f} s"
                if timed_out.is_set()
                else (f"exited {process.returncode}")
            )
            stderr = log.with_suffix(".err").read_text(errors="replace").strip()
            tail = "\n".join(stderr.splitlines()[-15:])
            raise BenchmarkError(
                f"{' '.join(map(str, command))} {why} (cwd {cwd}); last lines of stderr:\n{tail}"
            )
        peak_kb = _gnu_time_peak_kb(report) if self.gnu_time else float(usage.ru_maxrss)
        return Run(seconds, peak_kb / 1024, log.with_suffix(".out").read_text(errors="replace"))


# --------------------------------------------------------------------------- project copies


class Workspace:
    """Temporary project copies (config.yaml, data/, gx/) and the generated data sets."""

    def __init__(self, scratch: Path) -> None:
        self.scratch = scratch
        self.config = load_config(REPO / "config.yaml")
        self.suite = REPO / "gx" / "expectations" / f"{self.config.data.expectation_suite}.json"
        self._data: dict[str, Path] = {}
        self._projects = 0
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

    def project(self, size: str) -> Path:
        """A fresh project copy (no store, no outputs, no gx/uncommitted) holding `size` data.

        Its gate thresholds are the least strict values: the benchmark measures cost, not model
        quality, and a model the gate rejects would skip the deploy step's work.
        """
        self._projects += 1
        root = self.scratch / f"project-{self._projects:03d}-{size}"
        root.mkdir()
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
        for rule in suite["expectations"]:
            if rule["type"] == "expect_table_row_count_to_be_between":
                rule["kwargs"]["max_value"] = max(rule["kwargs"]["max_value"], SIZES["1m"] or 0)
        suite_file.write_text(json.dumps(suite, indent=2), encoding="utf-8")
        return root


def run_pipeline(runner: Runner, root: Path) -> dict[str, Run]:
    """The four steps against the project at root, each a fresh process, in order."""
    config = root / "config.yaml"
    return {
        name: runner.run([PYTHON, REPO / script, "--config", config, *flags], root, clean_env())
        for name, (script, *flags) in STEPS.items()
    }


# --------------------------------------------------------------------------- 1. overhead


def _same_metrics(pipeline: dict[str, float | None], bare: dict[str, float]) -> bool:
    # evaluation.json records NaN as null.
    return all(
        (pipeline.get(name) is None and math.isnan(value))
        or (pipeline.get(name) is not None and math.isclose(pipeline[name], value, rel_tol=1e-9))
        for name, value in bare.items()
    )


def bench_overhead(
    runner: Runner, workspace: Workspace, sizes: list[str], repeats: int
) -> dict[str, Any]:
    results: dict[str, Any] = {}
    for size in sizes:
        runs = []
        for repeat in range(repeats):
            progress(f"overhead, {size}: run {repeat + 1} of {repeats}")
            root = workspace.project(size)
            bare = runner.run(
                [PYTHON, BENCHMARKS / "bare.py", "--config", root / "config.yaml"],
                root,
                clean_env(),
            )
            steps = run_pipeline(runner, root)
            evaluation = json.loads((root / "outputs" / "evaluation.json").read_text())
            deployed = (root / "outputs" / "deployment.json").is_file()
            bare_metrics = bare.last_json()
            if size == "bundled" and deployed:
                workspace.deployed = root
            runs.append(
                {
                    "bare": {"seconds": bare.seconds, "peak_mb": bare.peak_mb},
                    "steps": {
                        n: {"seconds": r.seconds, "peak_mb": r.peak_mb} for n, r in steps.items()
                    },
                    "pipeline_seconds": sum(r.seconds for r in steps.values()),
                    "pipeline_peak_mb": max(r.peak_mb for r in steps.values()),
                    "bare_metrics": bare_metrics,
                    "same_model": _same_metrics(evaluation["metrics"], bare_metrics),
                    "deployed": deployed,
                }
            )
        bare_s = median(r["bare"]["seconds"] for r in runs)
        bare_mb = median(r["bare"]["peak_mb"] for r in runs)
        pipe_s = median(r["pipeline_seconds"] for r in runs)
        pipe_mb = median(r["pipeline_peak_mb"] for r in runs)
        results[size] = {
            "rows": len(pd.read_csv(workspace.data_file(size), usecols=[0])),
            "bare": {"seconds": bare_s, "peak_mb": bare_mb},
            "pipeline": {"seconds": pipe_s, "peak_mb": pipe_mb},
            "steps": {
                name: {
                    "seconds": median(r["steps"][name]["seconds"] for r in runs),
                    "peak_mb": median(r["steps"][name]["peak_mb"] for r in runs),
                }
                for name in STEPS
            },
            "ratio_seconds": pipe_s / bare_s,
            "ratio_peak_mb": pipe_mb / bare_mb,
            "same_model": all(r["same_model"] for r in runs),
            "deployed": all(r["deployed"] for r in runs),
            "runs": runs,
        }
    return results


# --------------------------------------------------------------------------- 2. validation


def bench_validation(
    runner: Runner, workspace: Workspace, sizes: list[str], repeats: int
) -> dict[str, Any]:
    results: dict[str, Any] = {}
    for size in sizes:
        runs: dict[str, list[dict[str, Any]]] = {"gx": [], "pandas": []}
        for repeat in range(repeats):
            progress(f"validation, {size}: run {repeat + 1} of {repeats}")
            root = workspace.project(size)  # fresh: GX writes Data Docs into the project
            verdicts = {}
            for engine in runs:
                run = runner.run(
                    [
                        PYTHON,
                        BENCHMARKS / "validate_once.py",
                        "--engine",
                        engine,
                        "--config",
                        root / "config.yaml",
                    ],
                    root,
                    clean_env(),
                )
                report = run.last_json()
                verdicts[engine] = report["verdicts"]
                runs[engine].append(
                    {
                        "process_seconds": run.seconds,
                        "peak_mb": run.peak_mb,
                        **{
                            k: report[k]
                            for k in (
                                "load_seconds",
                                "import_seconds",
                                "validate_seconds",
                                "success",
                            )
                        },
                    }
                )
            if verdicts["gx"] != verdicts["pandas"]:
                differ = sorted(
                    key
                    for key in verdicts["gx"].keys() | verdicts["pandas"].keys()
                    if verdicts["gx"].get(key) != verdicts["pandas"].get(key)
                )
                raise BenchmarkError(f"validation, {size}: GX and pandas disagree on {differ}")
        summary = {
            engine: {
                key: median(r[key] for r in engine_runs)
                for key in (
                    "process_seconds",
                    "peak_mb",
                    "load_seconds",
                    "import_seconds",
                    "validate_seconds",
                )
            }
            for engine, engine_runs in runs.items()
        }
        results[size] = {
            **summary,
            "valid": runs["gx"][0]["success"],
            "ratio_validate": summary["gx"]["validate_seconds"]
            / summary["pandas"]["validate_seconds"],
            "ratio_process": summary["gx"]["process_seconds"]
            / summary["pandas"]["process_seconds"],
            "runs": runs,
        }
    return results


# --------------------------------------------------------------------------- 3. setup


def bench_setup(runner: Runner, scratch: Path, repeats: int) -> dict[str, Any]:
    requirements = REPO / "requirements.txt"
    # The interpreter .venv was made from, as `make install` makes a venv (python -m venv).
    base_python = sys._base_executable  # noqa: SLF001
    # The machine's index settings (pip.conf, PIP_*/UV_* variables) are kept; only a setting
    # that would disable the cache under test is dropped.
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("PIP_NO_CACHE_DIR", "UV_NO_CACHE", "VIRTUAL_ENV")
    }
    installers: dict[str, tuple[str, Callable[[Path], list[str | Path]]]] = {
        "pip": (
            "PIP_CACHE_DIR",
            lambda venv: [
                venv / "bin" / "python",
                "-m",
                "pip",
                "install",
                "--progress-bar",
                "off",
                "--require-hashes",
                "-r",
                requirements,
            ],
        ),
        "uv": (
            "UV_CACHE_DIR",
            lambda venv: [
                VENV_BIN / "uv",
                "pip",
                "install",
                "--require-hashes",
                "-r",
                requirements,
                "--python",
                venv / "bin" / "python",
            ],
        ),
    }
    results: dict[str, Any] = {}
    for tool, (cache_variable, command) in installers.items():
        runs = []
        for repeat in range(repeats):
            cache = scratch / f"cache-{tool}-{repeat}"
            cache.mkdir()
            timings = {}
            for state in ("cold", "warm"):
                progress(f"setup, {tool}, {state} cache: run {repeat + 1} of {repeats}")
                venv = scratch / f"venv-{tool}-{repeat}-{state}"
                subprocess.run([base_python, "-m", "venv", str(venv)], check=True)
                run = runner.run(
                    command(venv), scratch, {**env, cache_variable: str(cache)}, INSTALL_TIMEOUT
                )
                timings[state] = {"seconds": run.seconds, "peak_mb": run.peak_mb}
                shutil.rmtree(venv)  # a full venv is ~1 GB; only the cache carries over
            shutil.rmtree(cache)
            runs.append(timings)
        results[tool] = {
            state: {
                "seconds": median(r[state]["seconds"] for r in runs),
                "peak_mb": median(r[state]["peak_mb"] for r in runs),
            }
            for state in ("cold", "warm")
        } | {"runs": runs}
    # The pip a fresh venv gets is the one ensurepip bundles.
    results["pip_version"] = subprocess.run(
        [base_python, "-c", "import ensurepip; print(ensurepip.version())"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    results["uv_version"] = subprocess.run(
        [VENV_BIN / "uv", "--version"], capture_output=True, text=True, check=True
    ).stdout.split()[1]
    return results


# --------------------------------------------------------------------------- 4. serving


def _post(connection: http.client.HTTPConnection, body: bytes) -> tuple[float, bytes]:
    """(seconds, response body) of one /invocations request on a kept-alive connection."""
    started = time.perf_counter()
    connection.request("POST", "/invocations", body, {"Content-Type": "application/json"})
    response = connection.getresponse()
    content = response.read()
    seconds = time.perf_counter() - started
    if response.status != 200:
        raise BenchmarkError(f"/invocations answered {response.status}: {content[:500]!r}")
    return seconds, content


def _session_peak_mb(session: int) -> float | None:
    """Sum of the peak resident memory (VmHWM) of every process in the server's session."""
    total_kb, found = 0, False
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[3]) != session:  # state, ppid, pgrp, session
                continue
            status = (stat.parent / "status").read_text()
        except (OSError, IndexError, ValueError):
            continue  # the process ended while we looked
        for line in status.splitlines():
            if line.startswith("VmHWM:"):
                total_kb += int(line.split()[1])
                found = True
    return total_kb / 1024 if found else None


def _serve_once(
    model_uri: str,
    env: dict[str, str],
    singles: list[bytes],
    batch: bytes,
    batches: int,
) -> dict[str, Any]:
    with model_server(model_uri, env) as (server, startup):
        with closing(
            http.client.HTTPConnection(server.host, server.port, timeout=120)
        ) as connection:
            for body in singles[:WARMUP_REQUESTS]:
                _post(connection, body)
            latencies = [_post(connection, body)[0] for body in singles]
            _, content = _post(connection, batch)  # also the warm-up for the timed batches
            started = time.perf_counter()
            for _ in range(batches):
                _post(connection, batch)
            batch_seconds = time.perf_counter() - started
        peak_mb = _session_peak_mb(server.pid)
    return {
        "startup_seconds": startup,
        "single_seconds": latencies,
        "batch_seconds": batch_seconds,
        "peak_mb": peak_mb,
        "batch_predictions": [str(p) for p in json.loads(content)["predictions"]],
    }


def _percentiles_ms(seconds: list[float]) -> tuple[float, float]:
    p50, p99 = np.percentile(np.array(seconds) * 1000, [50, 99])
    return float(p50), float(p99)


def bench_serving(
    runner: Runner, workspace: Workspace, repeats: int, requests: int, batches: int
) -> dict[str, Any]:
    root = workspace.deployed
    if root is None:
        progress("serving: running the pipeline on the bundled data to get a champion")
        root = workspace.project("bundled")
        run_pipeline(runner, root)
        if not (root / "outputs" / "deployment.json").is_file():
            raise BenchmarkError(f"serving: the pipeline in {root} did not deploy a champion")
    config = load_config(root / "config.yaml")
    model_uri = f"models:/{config.mlflow.registered_model}@{config.mlflow.champion_alias}"
    env = clean_env(
        MLFLOW_TRACKING_URI=f"sqlite:///{root / 'mlflow.db'}",
        # MLflow 3.17 refuses to load any sklearn-flavor model without it, skops files included.
        MLFLOW_ALLOW_PICKLE_DESERIALIZATION="true",
        # `mlflow models serve` starts uvicorn by name.
        PATH=f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}",
    )
    rows = request_rows(config)
    if len(rows) < BATCH_ROWS:
        raise BenchmarkError(
            f"serving: {len(rows)} complete rows, fewer than a batch of {BATCH_ROWS}"
        )
    singles = [request_body(rows.iloc[[i % len(rows)]]) for i in range(requests)]
    batch = request_body(rows.iloc[:BATCH_ROWS])

    runs = []
    for repeat in range(repeats):
        progress(f"serving: run {repeat + 1} of {repeats}")
        served = _serve_once(model_uri, env, singles, batch, batches)
        local = runner.run(
            [
                PYTHON,
                BENCHMARKS / "predict_inprocess.py",
                "--config",
                root / "config.yaml",
                "--model-uri",
                model_uri,
                "--requests",
                str(requests),
                "--batch-rows",
                str(BATCH_ROWS),
                "--batches",
                str(batches),
            ],
            root,
            env,
        ).last_json()
        served_p50, served_p99 = _percentiles_ms(served["single_seconds"])
        local_p50, local_p99 = _percentiles_ms(local["single_seconds"])
        served_rate = BATCH_ROWS * batches / served["batch_seconds"]
        runs.append(
            {
                "startup_seconds": served["startup_seconds"],
                "server_peak_mb": served["peak_mb"],
                "served_p50_ms": served_p50,
                "served_p99_ms": served_p99,
                "served_rows_per_second": served_rate,
                "inprocess_load_seconds": local["load_seconds"],
                "inprocess_p50_ms": local_p50,
                "inprocess_p99_ms": local_p99,
                "inprocess_rows_per_second": local["batch_rows_per_second"],
                "same_predictions": served["batch_predictions"] == local["batch_predictions"],
            }
        )
    summary = {
        key: median(r[key] for r in runs)
        for key in runs[0]
        if key not in ("same_predictions", "server_peak_mb")
    }
    peaks = [r["server_peak_mb"] for r in runs if r["server_peak_mb"] is not None]
    return {
        **summary,
        "server_peak_mb": median(peaks) if peaks else None,
        "throughput_ratio": summary["served_rows_per_second"]
        / summary["inprocess_rows_per_second"],
        "same_predictions": all(r["same_predictions"] for r in runs),
        "requests": requests,
        "batch_rows": BATCH_ROWS,
        "batches": batches,
        "runs": runs,
    }


# --------------------------------------------------------------------------- report


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

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "value": self.value,
            "limit": self.limit,
            "unit": self.unit,
            "at_most": self.at_most,
            "verdict": self.verdict,
        }


def _get(results: dict[str, Any], *keys: str) -> float | None:
    for key in keys:
        if not isinstance(results, dict) or key not in results:
            return None
        results = results[key]
    return results


def targets(results: dict[str, Any]) -> list[Target]:
    """The issue's targets, each with the measured value (None when it was not measured)."""
    return [
        Target(
            "pipeline/bare wall time, 1m rows",
            _get(results, "overhead", "1m", "ratio_seconds"),
            1.3,
            "x",
        ),
        Target(
            "pipeline/bare wall time, bundled data",
            _get(results, "overhead", "bundled", "ratio_seconds"),
            4.0,
            "x",
        ),
        Target(
            "pipeline/bare peak memory, 1m rows",
            _get(results, "overhead", "1m", "ratio_peak_mb"),
            2.0,
            "x",
        ),
        Target(
            "GX/pandas validation time, 1m rows",
            _get(results, "validation", "1m", "ratio_validate"),
            2.0,
            "x",
        ),
        Target(
            "warm-cache install, uv (what make install uses)",
            _get(results, "setup", "uv", "warm", "seconds"),
            15.0,
            "s",
        ),
        Target(
            "warm-cache install, pip", _get(results, "setup", "pip", "warm", "seconds"), 15.0, "s"
        ),
        Target(
            "served single-row latency p50", _get(results, "serving", "served_p50_ms"), 15.0, "ms"
        ),
        Target(
            "served/in-process batch throughput",
            _get(results, "serving", "throughput_ratio"),
            0.5,
            "x",
            at_most=False,
        ),
        Target(
            "pull-request workflow + comment under act, warm",
            _get(results, "pr", "pr_workflow_seconds"),
            90.0,
            "s",
        ),
        Target(
            "pull request opened -> comment (estimate for GitHub)",
            _get(results, "pr", "opened_to_comment_estimate_seconds"),
            240.0,
            "s",
        ),
        *(
            Target(
                f"gate bootstrap, 1000 resamples x 200k rows, {case.replace('_', ' with ')}",
                _get(results, "gate", case, "seconds"),
                5.0,
                "s",
            )
            for case in ("classification", "classification_ties", "regression")
        ),
    ]


def _table(headers: list[str], rows: list[list[str]]) -> str:
    widths = [
        max(len(str(cell)) for cell in column) for column in zip(headers, *rows, strict=False)
    ]
    lines = [headers, ["-" * w for w in widths], *rows]
    return "\n".join(
        "  ".join(
            str(cell).rjust(w) if i else str(cell).ljust(w)
            for i, (cell, w) in enumerate(zip(line, widths, strict=False))
        )
        for line in lines
    )


def report(results: dict[str, Any], meta: dict[str, Any]) -> str:
    runs = f"median of {meta['repeats']} fresh-process run(s)"
    parts = [
        f"Benchmark ({runs}; {meta['cpu_count']} CPUs, load average {meta['load_before']:.1f} "
        f"before, {meta['load_after']:.1f} after; peak memory: {meta['memory_method']})",
    ]
    if "overhead" in results:
        rows = []
        for size, r in results["overhead"].items():
            rows.append(
                [
                    f"{size} ({r['rows']:,})",
                    f"{r['bare']['seconds']:.1f}",
                    f"{r['pipeline']['seconds']:.1f}",
                    f"{r['ratio_seconds']:.2f}x",
                    f"{r['bare']['peak_mb']:.0f}",
                    f"{r['pipeline']['peak_mb']:.0f}",
                    f"{r['ratio_peak_mb']:.2f}x",
                    *(f"{s['seconds']:.1f} / {s['peak_mb']:.0f}" for s in r["steps"].values()),
                    "yes" if r["same_model"] else "NO",
                    "yes" if r["deployed"] else "NO",
                ]
            )
        parts += [
            "",
            "1. Pipeline overhead: seconds and peak MB; steps as seconds / peak MB",
            _table(
                [
                    "size (rows)",
                    "bare s",
                    "pipeline s",
                    "ratio",
                    "bare MB",
                    "pipeline MB",
                    "ratio",
                    *STEPS,
                    "same model",
                    "deployed",
                ],
                rows,
            ),
        ]
    if "validation" in results:
        rows = [
            [
                size,
                f"{r['gx']['validate_seconds']:.2f}",
                f"{r['pandas']['validate_seconds']:.2f}",
                f"{r['ratio_validate']:.1f}x",
                f"{r['gx']['import_seconds']:.1f}",
                f"{r['gx']['process_seconds']:.1f}",
                f"{r['pandas']['process_seconds']:.1f}",
                f"{r['gx']['peak_mb']:.0f}",
                f"{r['pandas']['peak_mb']:.0f}",
                "yes" if r["valid"] else "no",
            ]
            for size, r in results["validation"].items()
        ]
        parts += [
            "",
            "2. Validation (validate s: timed in process after the CSV is loaded; "
            "process s: whole fresh process); both engines agree on every rule",
            _table(
                [
                    "size",
                    "GX validate s",
                    "pandas validate s",
                    "ratio",
                    "GX import s",
                    "GX process s",
                    "pandas process s",
                    "GX MB",
                    "pandas MB",
                    "valid",
                ],
                rows,
            ),
        ]
    if "setup" in results:
        setup = results["setup"]
        rows = [
            [
                tool,
                f"{setup[tool]['cold']['seconds']:.1f}",
                f"{setup[tool]['warm']['seconds']:.1f}",
                f"{setup[tool]['cold']['peak_mb']:.0f}",
                f"{setup[tool]['warm']['peak_mb']:.0f}",
            ]
            for tool in ("pip", "uv")
        ]
        parts += [
            "",
            f"3. Setup: requirements.txt into a fresh venv (pip {setup['pip_version']}, "
            f"uv {setup['uv_version']})",
            _table(["installer", "cold s", "warm s", "cold MB", "warm MB"], rows),
        ]
    if "serving" in results:
        s = results["serving"]
        peak = "-" if s["server_peak_mb"] is None else f"{s['server_peak_mb']:.0f}"
        rows = [
            [
                "served (mlflow models serve)",
                f"{s['startup_seconds']:.1f}",
                f"{s['served_p50_ms']:.1f}",
                f"{s['served_p99_ms']:.1f}",
                f"{s['served_rows_per_second']:,.0f}",
                peak,
            ],
            [
                "in process (predict)",
                f"{s['inprocess_load_seconds']:.1f}",
                f"{s['inprocess_p50_ms']:.1f}",
                f"{s['inprocess_p99_ms']:.1f}",
                f"{s['inprocess_rows_per_second']:,.0f}",
                "-",
            ],
        ]
        parts += [
            "",
            f"4. Serving: {s['requests']} single-row requests on one kept-alive "
            f"connection, {s['batches']} batches of {s['batch_rows']} rows; same "
            f"predictions: {'yes' if s['same_predictions'] else 'NO'}",
            _table(
                ["", "start-up / load s", "p50 ms", "p99 ms", "batch rows/s", "server peak MB"],
                rows,
            ),
        ]
    if "pr" in results:
        pr = results["pr"]
        parts += [
            "",
            "5. Pull-request feedback under act (warm): job seconds "
            + ", ".join(f"{job} {sec:.0f}" for job, sec in sorted(pr["jobs_seconds"].items()))
            + f"; pipeline {pr['pipeline_wall_seconds']:.0f} s + comment workflow "
            f"{pr['comment_wall_seconds']:.0f} s; critical path "
            f"{pr['critical_path_seconds']:.0f} s "
            f"+ {pr['runner_startup_seconds']:.0f} s assumed runner start-up per stage "
            f"+ {pr['install_seconds']:.0f} s assumed install in each of 2 installing stages = "
            f"{pr['opened_to_comment_estimate_seconds']:.0f} s from opening to the comment",
        ]
    if "gate" in results:
        gate = results["gate"]
        parts += [
            "",
            f"6. Gate bootstrap: {gate['resamples']} paired resamples of {gate['rows']:,} "
            f"held-out rows on {gate['cpus']} CPUs: "
            + "; ".join(
                f"{case.replace('_', ' with ')} ({len(r['metrics'])} metrics) {r['seconds']:.2f} s"
                for case, r in gate.items()
                if isinstance(r, dict)
            ),
        ]
    rows = [
        [
            t.name,
            "-" if t.value is None else f"{t.value:.2f} {t.unit}",
            f"{'<=' if t.at_most else '>='} {t.limit:g} {t.unit}",
            t.verdict,
        ]
        for t in targets(results)
    ]
    parts += ["", "Targets", _table(["target", "value", "limit", "result"], rows)]
    return "\n".join(parts)


# --------------------------------------------------------------------------- main


def _choices(value: str, known: Iterable[str], what: str) -> list[str]:
    chosen = [item.strip().lower() for item in value.split(",") if item.strip()]
    unknown = [item for item in chosen if item not in known]
    if unknown or not chosen:
        raise argparse.ArgumentTypeError(
            f"unknown {what} {unknown or value!r}; choose from {','.join(known)}"
        )
    return chosen


def _git_commit() -> str | None:
    result = subprocess.run(
        ["git", "-C", str(REPO), "rev-parse", "HEAD"], capture_output=True, text=True
    )
    return result.stdout.strip() or None


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="\n".join(__doc__.splitlines()[2:]),
    )
    parser.add_argument(
        "--sections",
        default=",".join(SECTIONS),
        type=lambda v: _choices(v, SECTIONS, "section"),
        help="comma-separated (default: all)",
    )
    parser.add_argument(
        "--sizes",
        default=",".join(SIZES),
        type=lambda v: _choices(v, SIZES, "size"),
        help="data sizes for overhead and validation (default: all)",
    )
    parser.add_argument("--repeats", type=int, default=3, help="fresh-process runs per figure")
    parser.add_argument("--requests", type=int, default=200, help="single-row requests to time")
    parser.add_argument("--batches", type=int, default=20, help="1,000-row batches to time")
    parser.add_argument("--output", type=Path, default=RESULTS_FILE, help="JSON results file")
    args = parser.parse_args()
    if min(args.repeats, args.requests, args.batches) < 1:
        parser.error("--repeats, --requests and --batches must be at least 1")

    meta: dict[str, Any] = {
        "started": datetime.now(UTC).isoformat(timespec="seconds"),
        "git_commit": _git_commit(),
        "sections": args.sections,
        "sizes": args.sizes,
        "repeats": args.repeats,
        "cpu_count": os.cpu_count(),
        "load_before": os.getloadavg()[0],
        "python": platform.python_version(),
        "packages": {
            p: version(p)
            for p in ("mlflow", "great-expectations", "scikit-learn", "pandas", "numpy")
        },
    }
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="mlops-benchmark-") as scratch_dir:
        scratch = Path(scratch_dir)
        runner = Runner(scratch)
        meta["memory_method"] = runner.memory_method
        if not runner.gnu_time:
            progress(f"note: {runner.memory_method}")
        workspace = Workspace(scratch)
        # One unmeasured import, so the first measured run does not pay for a cold disk cache.
        runner.run(
            [PYTHON, "-c", "import great_expectations, mlflow, sklearn, skops.io"],
            scratch,
            clean_env(),
        )
        try:
            if "overhead" in args.sections:
                results["overhead"] = bench_overhead(runner, workspace, args.sizes, args.repeats)
            if "validation" in args.sections:
                results["validation"] = bench_validation(
                    runner, workspace, args.sizes, args.repeats
                )
            if "setup" in args.sections:
                results["setup"] = bench_setup(runner, scratch, args.repeats)
            if "serving" in args.sections:
                results["serving"] = bench_serving(
                    runner, workspace, args.repeats, args.requests, args.batches
                )
            if "pr" in args.sections:
                progress("pr: a push for the champion, then a pull request and its comment")
                results["pr"] = bench_pr_feedback()
            if "gate" in args.sections:
                progress("gate: paired bootstrap on 200,000 held-out rows")
                results["gate"] = bench_gate(args.repeats)
        except BenchmarkError as error:
            print(f"error: {error}", file=sys.stderr)
            return 2
        except KeyboardInterrupt:
            print("error: interrupted", file=sys.stderr)
            return 130
    meta["load_after"] = os.getloadavg()[0]

    print(report(results, meta))
    args.output.parent.mkdir(parents=True, exist_ok=True)
    document = {"meta": meta, "targets": [t.to_dict() for t in targets(results)], **results}
    args.output.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    print(f"\nresults: {args.output}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
