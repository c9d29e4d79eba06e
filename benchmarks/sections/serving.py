"""Serving: `mlflow models serve` of the champion against predict in process."""

import http.client
import json
import time
from contextlib import closing
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.predict_inprocess import request_rows
from benchmarks.report import Table, yes_no
from benchmarks.runner import (
    BENCHMARKS,
    PYTHON,
    BenchmarkError,
    Context,
    Target,
    clean_env,
    get,
    median,
    progress,
)
from mlops.config import load_config
from mlops.errors import PipelineError
from mlops.serving import model_server, request_body

NAME = "serving"
TITLE = "Serving"
ABOUT = (
    "`mlflow models serve` of `@champion` (through `mlops.serving.model_server`, a model the "
    "pipeline deployed on the bundled data): start-up until `/ping` answers, single-row "
    "latency over one kept-alive connection (after a warm-up) and 1,000-row batch "
    "throughput, against `predict` in a fresh process (`benchmarks/predict_inprocess.py`) "
    "on the same rows. Server peak MB is the sum of the peak resident memory of the server's "
    "processes. Same predictions: the served batch equals the in-process one."
)
PEAK_MEMORY = False
REPEATED = True
BATCH_ROWS = 1000
WARMUP_REQUESTS = 10


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
    model_uri: str, env: dict[str, str], singles: list[bytes], batch: bytes, batches: int
) -> dict[str, Any]:
    try:
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
    except PipelineError as error:
        raise BenchmarkError(f"serving: {error}") from None
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


def run(context: Context) -> dict[str, Any]:
    root = context.deployed_project()
    config = load_config(root / "config.yaml")
    model_uri = f"models:/{config.mlflow.registered_model}@{config.mlflow.champion_alias}"
    env = clean_env(
        MLFLOW_TRACKING_URI=f"sqlite:///{root / 'mlflow.db'}",
        # MLflow 3.17 refuses to load any sklearn-flavor model without it, skops files included.
        MLFLOW_ALLOW_PICKLE_DESERIALIZATION="true",
    )
    rows = request_rows(config)
    if len(rows) < BATCH_ROWS:
        raise BenchmarkError(
            f"serving: {len(rows)} complete rows, fewer than a batch of {BATCH_ROWS}"
        )
    singles = [request_body(rows.iloc[[i % len(rows)]]) for i in range(context.requests)]
    batch = request_body(rows.iloc[:BATCH_ROWS])

    runs = []
    for repeat in range(context.repeats):
        progress(f"serving: run {repeat + 1} of {context.repeats}")
        served = _serve_once(model_uri, env, singles, batch, context.batches)
        local = context.runner.run(
            [
                PYTHON,
                BENCHMARKS / "predict_inprocess.py",
                "--config",
                root / "config.yaml",
                "--model-uri",
                model_uri,
                "--requests",
                str(context.requests),
                "--batch-rows",
                str(BATCH_ROWS),
                "--batches",
                str(context.batches),
            ],
            root,
            env,
        ).last_json()
        served_p50, served_p99 = _percentiles_ms(served["single_seconds"])
        local_p50, local_p99 = _percentiles_ms(local["single_seconds"])
        runs.append(
            {
                "startup_seconds": served["startup_seconds"],
                "server_peak_mb": served["peak_mb"],
                "served_p50_ms": served_p50,
                "served_p99_ms": served_p99,
                "served_rows_per_second": BATCH_ROWS * context.batches / served["batch_seconds"],
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
        "requests": context.requests,
        "batch_rows": BATCH_ROWS,
        "batches": context.batches,
        "runs": runs,
    }


def targets(results: dict[str, Any] | None) -> list[Target]:
    return [
        Target("served single-row latency p50", get(results, "served_p50_ms"), 10.0, "ms"),
        Target(
            "served/in-process batch throughput",
            get(results, "throughput_ratio"),
            0.5,
            "x",
            at_most=False,
        ),
    ]


def tables(results: dict[str, Any]) -> list[Table]:
    r = results
    peak = "-" if r["server_peak_mb"] is None else f"{r['server_peak_mb']:.0f}"
    rows = [
        [
            "served (mlflow models serve)",
            f"{r['startup_seconds']:.1f}",
            f"{r['served_p50_ms']:.1f}",
            f"{r['served_p99_ms']:.1f}",
            f"{r['served_rows_per_second']:,.0f}",
            peak,
        ],
        [
            "in process (predict)",
            f"{r['inprocess_load_seconds']:.1f}",
            f"{r['inprocess_p50_ms']:.1f}",
            f"{r['inprocess_p99_ms']:.1f}",
            f"{r['inprocess_rows_per_second']:,.0f}",
            "-",
        ],
    ]
    return [
        Table(
            f"{r['requests']} single-row requests, {r['batches']} batches of {r['batch_rows']:,} "
            f"rows; throughput ratio {r['throughput_ratio']:.2f}x; same predictions: "
            f"{yes_no(r['same_predictions'])}",
            ["", "start-up / load s", "p50 ms", "p99 ms", "batch rows/s", "server peak MB"],
            rows,
        )
    ]
