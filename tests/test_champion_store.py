"""The release store: the champion and its history survive from one CI workspace to the next.

Each "run" is a fresh copy of a fixture project (an empty workspace, as on a new runner);
GitHub Releases are stood in for by tests/fake_github/gh, which keeps them in a folder.
"""

import json
import os
from pathlib import Path

import pytest

from tests.conftest import make_project

pytestmark = pytest.mark.slow

FAKE_GH = Path(__file__).resolve().parent / "fake_github"
REPOSITORY = "acme/ml-project"


class Run:
    """One CI job's workspace, talking to the same (fake) GitHub."""

    def __init__(self, workspace: Path, github: Path, **env: str) -> None:
        workspace.mkdir()
        self.project = make_project(workspace)
        self.env = {
            "PATH": f"{FAKE_GH}{os.pathsep}{os.environ['PATH']}",
            "FAKE_GITHUB_DIR": str(github),
            "GH_TOKEN": "token",
            "GITHUB_REPOSITORY": REPOSITORY,
            "GITHUB_ACTOR": "octocat",
            **env,
        }

    def run(self, script: str, *args: str):
        return self.project.run(script, *args, **self.env)

    def ok(self, script: str, *args: str) -> str:
        result = self.run(script, *args)
        assert result.returncode == 0, f"{script} {args}:\n{result.stdout}\n{result.stderr}"
        assert "Traceback" not in result.stderr
        return result.stdout

    def pipeline(self) -> dict:
        self.ok("champion_store.py", "restore")
        self.ok("train_model.py")
        self.ok("evaluate_model.py")
        return json.loads((self.project.outputs / "evaluation.json").read_text())


def releases(github: Path, model: str) -> dict[str, Path]:
    folder = github / REPOSITORY / "releases"
    return {p.name: p for p in folder.iterdir()} if folder.is_dir() else {}


def pointer(github: Path, model: str) -> dict:
    return json.loads((releases(github, model)[f"{model}-champion"] / "champion.json").read_text())


def test_champion_history_rollback_and_fingerprints_across_workspaces(tmp_path):
    github = tmp_path / "github"
    github.mkdir()
    first = Run(tmp_path / "run1", github)
    model = first.project.model_name

    assert "no champion published yet" in first.ok("champion_store.py", "restore")
    evaluation = first.pipeline()
    assert evaluation["champion"] is None
    first.ok("deploy_model.py")
    assert "published" in first.ok("champion_store.py", "publish", "--event", "deploy")
    assert set(releases(github, model)) == {f"{model}-v1", f"{model}-champion"}
    manifest = json.loads((releases(github, model)[f"{model}-v1"] / "manifest.json").read_text())
    assert manifest["version"] == "1" and manifest["deployed_by"] == "octocat"
    assert set(manifest["metrics"]) == set(evaluation["metrics"])
    assert manifest["data_sha256"] and manifest["config_sha256"] and manifest["model_sha256"]

    # Two runs restore version 1; the first to publish wins, the other is refused and writes
    # no version tag (it need not train: publish checks the pointer first).
    winner, loser = Run(tmp_path / "winner", github), Run(tmp_path / "loser", github)
    loser.ok("champion_store.py", "restore")
    evaluation = winner.pipeline()
    assert evaluation["champion"]["version"] == "1"
    assert evaluation["champion"]["metrics"] == pytest.approx(evaluation["metrics"])
    assert "version 2" in winner.ok("deploy_model.py")
    winner.ok("champion_store.py", "publish", "--event", "deploy")
    lost = loser.run("champion_store.py", "publish", "--event", "deploy")
    assert lost.returncode == 2, lost.stdout + lost.stderr
    assert "changed since this run restored it" in lost.stderr and "Traceback" not in lost.stderr
    manifest = json.loads((releases(github, model)[f"{model}-v2"] / "manifest.json").read_text())
    winner_run = json.loads((winner.project.outputs / "evaluation.json").read_text())["run_id"]
    assert manifest["run_id"] == winner_run
    assets = os.listdir(releases(github, model)[f"{model}-champion"])
    assert len([a for a in assets if a.startswith("store-")]) == 1, assets  # old store removed

    rollback = Run(tmp_path / "rollback", github)
    rollback.ok("champion_store.py", "restore")
    rollback.ok("deploy_model.py", "--rollback", "--reason", "v2 misbehaves")
    rollback.ok("champion_store.py", "publish", "--event", "rollback", "--reason", "v2 misbehaves")
    history = pointer(github, model)["history"]
    assert [(h["event"], h["version"], h["from_version"]) for h in history] == [
        ("deploy", "1", None),
        ("deploy", "2", "1"),
        ("rollback", "1", "2"),
    ]
    assert history[-1]["actor"] == "octocat" and history[-1]["reason"] == "v2 misbehaves"

    # The next run starts from the rolled-back champion, and the store numbers on from 2.
    after = Run(tmp_path / "after", github)
    assert f"restored {model} version 1" in after.ok("champion_store.py", "restore")
    restored = json.loads((after.project.outputs / "champion_store.json").read_text())
    assert restored["version"] == "1"

    # A store or a model that does not match its recorded fingerprint is refused.
    release = releases(github, model)[f"{model}-champion"]
    original = (release / "champion.json").read_text()
    store = next(release.glob("store-*.tar.gz"))
    saved = store.read_bytes()
    store.write_bytes(saved + b"tampered")
    refused = Run(tmp_path / "tampered-store", github).run("champion_store.py", "restore")
    assert refused.returncode == 2 and "refusing it" in refused.stderr, refused.stderr
    store.write_bytes(saved)
    edited = json.loads(original)
    edited["champion"]["model_sha256"] = "0" * 64
    (release / "champion.json").write_text(json.dumps(edited))
    refused = Run(tmp_path / "tampered-model", github).run("champion_store.py", "restore")
    assert refused.returncode == 2, refused.stderr
    assert "do not match the fingerprint" in refused.stderr and "Traceback" not in refused.stderr


def test_local_store_is_not_replaced_and_a_server_needs_no_store(tmp_path):
    github = tmp_path / "github"
    github.mkdir()
    run = Run(tmp_path / "run", github)
    (run.project.root / "mlflow.db").write_bytes(b"")
    kept = run.run("champion_store.py", "restore")
    assert kept.returncode == 2 and "a local store exists" in kept.stderr
    server = Run(tmp_path / "server", github, MLFLOW_TRACKING_URI="http://127.0.0.1:9")
    assert "nothing to do" in server.ok("champion_store.py", "restore")
    assert not (github / "calls.jsonl").exists()  # GitHub was never asked
