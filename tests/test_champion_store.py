"""The release store: the champion and its history survive from one CI workspace to the next.

Pushes, a rollback and the comparison in the next run go through the real workflows in
tests/workflows/test_pipeline_workflow.py; these tests drive the script directly for what
those cannot reach cheaply: a publish that lost a race, tampered stores and models.

Each "run" is a fresh copy of a fixture project (an empty workspace, as on a new runner);
GitHub Releases are stood in for by tests/fake_github/gh, which keeps them in a folder.
"""

import json
import os
from pathlib import Path

import pytest

from tests.conftest import FAKE_GH, REPOSITORY, make_project

pytestmark = pytest.mark.slow


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


def test_champion_is_published_restored_and_checked_across_workspaces(tmp_path):
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

    # A run that restored version 1 must not publish over a pointer that moved meanwhile
    # (another deploy or rollback published first; here the pointer is rewritten to say so).
    loser = Run(tmp_path / "loser", github)
    loser.ok("champion_store.py", "restore")
    release = releases(github, model)[f"{model}-champion"]
    original = (release / "champion.json").read_text()
    moved = json.loads(original)
    moved["history"].append({"event": "rollback", "version": "1", "from_version": "1"})
    (release / "champion.json").write_text(json.dumps(moved))
    before = sorted(releases(github, model))
    lost = loser.run("champion_store.py", "publish", "--event", "deploy")
    assert lost.returncode == 2, lost.stdout + lost.stderr
    assert "changed since this run restored it" in lost.stderr and "Traceback" not in lost.stderr
    assert sorted(releases(github, model)) == before  # no version tag written
    (release / "champion.json").write_text(original)

    # The next run, on an empty workspace, restores version 1 with its history.
    after = Run(tmp_path / "after", github)
    assert f"restored {model} version 1" in after.ok("champion_store.py", "restore")
    restored = json.loads((after.project.outputs / "champion_store.json").read_text())
    assert restored["version"] == "1"
    assert [h["event"] for h in pointer(github, model)["history"]] == ["deploy"]

    # A store or a model that does not match its recorded fingerprint is refused.
    store = next(release.glob("store-*.tar.gz"))
    saved = store.read_bytes()
    store.write_bytes(saved + b"tampered")
    refused = Run(tmp_path / "tampered-store", github).run("champion_store.py", "restore")
    assert refused.returncode == 2 and "refusing it" in refused.stderr, refused.stderr
    store.write_bytes(saved)
    edited = json.loads(original)
    edited["champion"]["model_sha256"] = "0" * 64
    (release / "champion.json").write_text(json.dumps(edited))
    tampered = Run(tmp_path / "tampered-model", github)
    refused = tampered.run("champion_store.py", "restore")
    assert refused.returncode == 2, refused.stderr
    assert "do not match the fingerprint" in refused.stderr and "Traceback" not in refused.stderr
    assert not (tampered.project.root / "mlflow.db").exists()  # nothing half-restored


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
