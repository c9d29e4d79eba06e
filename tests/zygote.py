"""Run the project's scripts in fresh processes that start with the heavy libraries imported.

Every script run by the tests is its own process, as a user's is: its own environment,
working directory, arguments, stdout, stderr and exit code. What it skips is importing MLflow,
scikit-learn, Great Expectations and the rest, 2-3 s per run and hundreds of runs per suite:
each run is forked from a server process (one per test worker) that imported them once. The
project's own package is never imported there, so each run starts it fresh.

The server is started with `python -m tests.zygote` and reads one JSON request per line on
stdin ({"argv", "env", "cwd", "stdout", "stderr", "timeout"}); it answers each with
{"returncode": N} on stdout, or {"timeout": true} after killing a run that overran.
"""

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
# Third-party modules the scripts import; importing them here is what the forks inherit.
PRELOAD = (
    "numpy",
    "pandas",
    "scipy.stats",
    "sklearn.base",
    "sklearn.compose",
    "sklearn.ensemble",
    "sklearn.impute",
    "sklearn.inspection",
    "sklearn.linear_model",
    "sklearn.metrics",
    "sklearn.model_selection",
    "sklearn.pipeline",
    "sklearn.preprocessing",
    "pydantic",
    "yaml",
    "mlflow",
    "mlflow.sklearn",
    "mlflow.pyfunc",
    "mlflow.pyfunc.scoring_server",
    "mlflow.tracking",
    "mlflow.models",
    "great_expectations",
    "skops.io",
    "matplotlib.pyplot",
    "uvicorn",
)


def _child(request: dict) -> None:
    """In the forked process: become the script's process, run it, exit with its code."""
    os.setpgid(0, 0)
    for stream, path, flags in (
        (0, os.devnull, os.O_RDONLY),  # not the server's request pipe
        (1, request["stdout"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC),
        (2, request["stderr"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC),
    ):
        handle = os.open(path, flags, 0o644)
        os.dup2(handle, stream)
        os.close(handle)
    sys.stdin = open(0, encoding="utf-8", closefd=False)  # noqa: SIM115
    sys.stdout = open(1, "w", encoding="utf-8", closefd=False)  # noqa: SIM115
    sys.stderr = open(2, "w", encoding="utf-8", closefd=False)  # noqa: SIM115
    os.environ.clear()
    os.environ.update(request["env"])
    os.chdir(request["cwd"])
    script, *args = request["argv"]
    sys.argv = [script, *args]
    # As `python script.py` has it: the script's folder first, not the server's.
    folder = str(Path(script).resolve().parent)
    sys.path[:] = [folder, *(p for p in sys.path if p not in ("", folder, str(REPO)))]
    code = 0
    try:
        import runpy

        runpy.run_path(script, run_name="__main__")
    except SystemExit as stop:
        code = stop.code if isinstance(stop.code, int) else (0 if stop.code is None else 1)
        if not isinstance(stop.code, int | None):
            print(stop.code, file=sys.stderr)
    except BaseException:  # noqa: BLE001 (reported as the interpreter would)
        import traceback

        traceback.print_exc()
        code = 1
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def serve() -> None:
    """The server loop: preload, then fork one process per request and report its end."""
    import importlib

    import matplotlib

    matplotlib.use("Agg")
    for name in PRELOAD:
        importlib.import_module(name)
    answers = sys.stdout
    print(json.dumps({"ready": True}), file=answers, flush=True)
    for line in sys.stdin:
        request = json.loads(line)
        pid = os.fork()
        if pid == 0:
            _child(request)
        try:  # its own group (the child sets it too): a timeout stops what it started
            os.setpgid(pid, pid)
        except OSError:  # the child got there first, or has already exited
            pass
        deadline = time.monotonic() + request["timeout"]
        while True:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                answer = {"returncode": os.waitstatus_to_exitcode(status)}
                break
            if time.monotonic() > deadline:
                try:
                    os.killpg(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                os.waitpid(pid, 0)
                answer = {"timeout": True}
                break
            time.sleep(0.01)
        print(json.dumps(answer), file=answers, flush=True)


class Zygote:
    """The test side: one server per test process, started on first use."""

    def __init__(self) -> None:
        self._process: subprocess.Popen | None = None
        self._lock = threading.Lock()

    def _start(self) -> subprocess.Popen:
        env = {
            **os.environ,
            "MLFLOW_DISABLE_TELEMETRY": "true",
            "GX_ANALYTICS_ENABLED": "false",
        }
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        process = subprocess.Popen(
            [sys.executable, "-m", "tests.zygote"],
            cwd=REPO,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        if json.loads(process.stdout.readline() or "{}").get("ready") is not True:
            raise RuntimeError("the script server (tests/zygote.py) did not start")
        return process

    def run(
        self, argv: list[str], env: dict[str, str], cwd: Path, timeout: float, scratch: Path
    ) -> subprocess.CompletedProcess:
        """Run `python argv...` as a fresh process; the same result subprocess.run gives."""
        out, err = scratch / "stdout", scratch / "stderr"
        request = {
            "argv": [str(a) for a in argv],
            "env": env,
            "cwd": str(cwd),
            "stdout": str(out),
            "stderr": str(err),
            "timeout": timeout,
        }
        with self._lock:
            if self._process is None or self._process.poll() is not None:
                self._process = self._start()
            self._process.stdin.write(json.dumps(request) + "\n")
            self._process.stdin.flush()
            answer = json.loads(self._process.stdout.readline())
        stdout, stderr = out.read_text(errors="replace"), err.read_text(errors="replace")
        if answer.get("timeout"):
            raise subprocess.TimeoutExpired(argv, timeout, stdout, stderr)
        return subprocess.CompletedProcess(argv, answer["returncode"], stdout, stderr)

    def close(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.stdin.close()
            self._process.wait(timeout=30)


if __name__ == "__main__":
    serve()
