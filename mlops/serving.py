"""Serve a model with MLflow's scoring server and check it over HTTP.

Two ways to start the same server: `model_server` runs `mlflow models serve` (what a user
deploys, and what the serving tests and the benchmark measure); `scoring_app_server` runs
the app that command starts (mlflow.pyfunc.scoring_server under uvicorn) in this process,
which deploy's check uses: the same request handling, without two Python start-ups.
"""

import http.client
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

import pandas as pd

from mlops.errors import PipelineError
from mlops.model_code import shipped_code_on_path
from mlops.pyfunc_model import OUTPUT, PREDICTION, PROBABILITIES
from mlops.scoring import same_values

STARTUP_TIMEOUT_SECONDS = 90
SINGLE_ROW_REQUESTS = 50


@dataclass(frozen=True)
class ServingReport:
    startup_seconds: float
    rows_checked: int
    single_row_p50_ms: float
    single_row_p99_ms: float
    batch_ms: float

    def to_dict(self) -> dict[str, float]:
        return asdict(self)


@dataclass(frozen=True)
class ModelServer:
    host: str
    port: int
    # Leader of the server's own session (mlflow and the uvicorn it starts); None in process.
    pid: int | None = None

    def post(self, payload: bytes, content_type: str = "application/json") -> tuple[int, bytes]:
        connection = http.client.HTTPConnection(self.host, self.port, timeout=60)
        try:
            connection.request("POST", "/invocations", payload, {"Content-Type": content_type})
            response = connection.getresponse()
            return response.status, response.read()
        finally:
            connection.close()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _ping(port: int) -> bool:
    try:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
        connection.request("GET", "/ping")
        return connection.getresponse().status == 200
    except OSError:
        return False


@contextmanager
def model_server(
    model_uri: str, env: Mapping[str, str] | None = None, cwd: Path | None = None
) -> Iterator[tuple[ModelServer, float]]:
    """`mlflow models serve` for the model on 127.0.0.1; yields it and its start-up seconds.

    MLflow 3.17's scoring server loads every scikit-learn model, skops files included, only
    with MLFLOW_ALLOW_PICKLE_DESERIALIZATION=true. It is set for this child process alone,
    and only after the caller verified the model files' fingerprint. `env` replaces the
    inherited environment (os.environ by default); `cwd`, the working directory (the
    server's app is imported with it on sys.path)."""
    port = _free_port()
    bin_dir = Path(sys.executable).parent
    env = {
        **(os.environ if env is None else env),
        "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",  # it execs uvicorn
        "MLFLOW_ALLOW_PICKLE_DESERIALIZATION": "true",
    }
    command = [
        str(bin_dir / "mlflow"),
        "models",
        "serve",
        "-m",
        model_uri,
        "--env-manager",
        "local",
        "-h",
        "127.0.0.1",
        "-p",
        str(port),
    ]
    with tempfile.TemporaryFile() as log:
        started = time.monotonic()
        process = subprocess.Popen(
            command,
            env=env,
            cwd=cwd,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            while not _ping(port):
                if (
                    process.poll() is not None
                    or time.monotonic() - started > STARTUP_TIMEOUT_SECONDS
                ):
                    log.seek(0)
                    tail = log.read().decode(errors="replace").strip().splitlines()[-3:]
                    raise PipelineError(
                        f"model server for {model_uri} did not start: " + " | ".join(tail)
                    )
                time.sleep(0.2)
            yield ModelServer("127.0.0.1", port, process.pid), time.monotonic() - started
        finally:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait()


@contextmanager
def scoring_app_server(model_dir: Path) -> Iterator[tuple[ModelServer, float]]:
    """MLflow's scoring server app for the model files in `model_dir`, under uvicorn on
    127.0.0.1 in a thread of this process; yields it and its start-up seconds.

    The caller must have verified the files' fingerprint: MLflow's loader trusts the skops
    type list stored in the model, and is told so with MLFLOW_ALLOW_PICKLE_DESERIALIZATION
    for the time of the load only.
    """
    import uvicorn
    from mlflow.models import Model
    from mlflow.pyfunc import FLAVOR_NAME, scoring_server

    started = time.monotonic()
    previous = os.environ.get("MLFLOW_ALLOW_PICKLE_DESERIALIZATION")
    os.environ["MLFLOW_ALLOW_PICKLE_DESERIALIZATION"] = "true"
    # The model's own shipped code, not a copy this process imported before (training's).
    code = Model.load(str(model_dir)).flavors.get(FLAVOR_NAME, {}).get("code")
    try:
        with shipped_code_on_path(model_dir, code):
            model = scoring_server.load_model_with_mlflow_config(str(model_dir))
        app = scoring_server.init(model)
    except Exception as error:  # MLflow raises many kinds for a model it cannot load
        raise PipelineError(
            f"{model_dir}: MLflow's scoring server cannot load it: {error}"
        ) from None
    finally:
        if previous is None:
            os.environ.pop("MLFLOW_ALLOW_PICKLE_DESERIALIZATION")
        else:
            os.environ["MLFLOW_ALLOW_PICKLE_DESERIALIZATION"] = previous
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)
    )
    thread = threading.Thread(target=server.run, name="scoring-server", daemon=True)
    thread.start()
    try:
        while not server.started:
            if not thread.is_alive() or time.monotonic() - started > STARTUP_TIMEOUT_SECONDS:
                raise PipelineError(f"the scoring server for {model_dir} did not start")
            time.sleep(0.01)
        yield ModelServer("127.0.0.1", port), time.monotonic() - started
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def request_body(frame: pd.DataFrame, params: dict[str, str] | None = None) -> bytes:
    """The scoring server's `dataframe_split` JSON, with request `params` if given; missing
    values become null."""
    body = {"dataframe_split": json.loads(frame.to_json(orient="split", index=False))}
    return json.dumps({**body, "params": params} if params else body).encode()


def _served(server: ModelServer, payload: bytes) -> list:
    status, body = server.post(payload)
    if status != 200:
        raise PipelineError(f"model server answered {status}: {body[:300]!r}")
    return json.loads(body)["predictions"]


def check_served_predictions(
    model_dir: Path, rows: pd.DataFrame, expected: pd.DataFrame, positive_class: str | None
) -> ServingReport:
    """Serve the model files with MLflow's scoring server, score the rows over HTTP, refuse
    unless the predictions equal the offline ones in `expected` (labels exactly, numbers to
    float precision; for classification also its probability columns, asked for with the
    request parameter), and time single-row requests."""
    with scoring_app_server(model_dir) as (server, startup_seconds):
        started = time.perf_counter()
        predictions = _served(server, request_body(rows))
        batch_ms = (time.perf_counter() - started) * 1000
        if not same_values(expected["prediction"], predictions):
            raise PipelineError(f"{model_dir}: served predictions differ from offline ones")
        # Offline probability columns, and the served ones they must equal: binary evaluation
        # keeps the positive class's alone, multiclass one per class.
        wanted = {name: name for name in expected.columns if name.startswith("probability_")}
        if "probability" in expected.columns:
            wanted["probability"] = f"probability_{positive_class}"
        if wanted:
            served = pd.DataFrame(_served(server, request_body(rows, {OUTPUT: PROBABILITIES})))
            same = same_values(expected["prediction"], served[PREDICTION]) and all(
                name in served and same_values(expected[offline], served[name])
                for offline, name in wanted.items()
            )
            if not same:
                raise PipelineError(
                    f"{model_dir}: served probabilities (params {OUTPUT}: {PROBABILITIES}) "
                    "differ from offline ones"
                )
        latencies = []
        connection = http.client.HTTPConnection(server.host, server.port, timeout=60)
        try:
            for index in range(min(SINGLE_ROW_REQUESTS, len(rows))):
                payload = request_body(rows.iloc[[index]])
                started = time.perf_counter()
                connection.request(
                    "POST", "/invocations", payload, {"Content-Type": "application/json"}
                )
                connection.getresponse().read()
                latencies.append((time.perf_counter() - started) * 1000)
        finally:
            connection.close()
    return ServingReport(
        startup_seconds=round(startup_seconds, 2),
        rows_checked=len(rows),
        single_row_p50_ms=round(statistics.median(latencies), 2),
        single_row_p99_ms=round(statistics.quantiles(latencies, n=100)[98], 2),
        batch_ms=round(batch_ms, 1),
    )
