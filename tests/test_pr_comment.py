"""The pull-request comment: the report as untrusted data, and the sticky comment via `gh`."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from mlops.errors import PipelineError
from mlops.pr_comment import (
    MARKER,
    MAX_COMMENT_CHARS,
    comment_body,
    parse_results,
    read_report,
    report_markdown,
    write_report,
)
from tests.conftest import FAKE_GH, REPO, REPOSITORY

HEAD = "b" * 40


def test_report_round_trip(tmp_path):
    write_report(tmp_path, 7, "| metric |\n")
    report = read_report(tmp_path)
    assert (report.number, report.markdown) == (7, "| metric |\n")


@pytest.mark.parametrize(
    "files, message",
    [
        ({"comment.md": b"x", "pull_request.json": b'{"number": 7}', "run.sh": b"x"}, "expected"),
        ({"comment.md": b"x"}, "expected exactly"),
        ({"comment.md": b"\xff\xfe", "pull_request.json": b'{"number": 7}'}, "unreadable"),
        ({"comment.md": b"a\0b", "pull_request.json": b'{"number": 7}'}, "NUL"),
        ({"comment.md": b"x", "pull_request.json": b'{"number": "7"}'}, "positive integer"),
        ({"comment.md": b"x", "pull_request.json": b'{"number": -1}'}, "positive integer"),
        ({"comment.md": b"x" * 300_000, "pull_request.json": b'{"number": 7}'}, "bytes"),
    ],
)
def test_untrusted_report_is_refused(tmp_path, files, message):
    for name, content in files.items():
        (tmp_path / name).write_bytes(content)
    with pytest.raises(PipelineError, match=message):
        read_report(tmp_path)


def test_body_starts_with_one_marker_and_fits_a_comment():
    body = comment_body(f"{MARKER}\nspoofed\n" + "row\n" * 40_000, "https://run")
    assert body.startswith(MARKER) and body.count(MARKER) == 1
    assert len(body) < 65_536 and len(body) <= MAX_COMMENT_CHARS + 200
    assert body.rstrip().endswith("the whole report is in the [run summary](https://run)._")
    # A cut inside a chart closes its code block, so the note and the page stay readable.
    charts = comment_body("## Evaluation\n```mermaid\n" + "line [1]\n" * 20_000 + "```", None)
    kept = charts.removesuffix("\n\n_Report truncated to fit a comment._")
    assert kept != charts and kept.endswith("\n```") and kept.count("```") == 2


def test_report_says_which_stage_stopped_the_run_and_why():
    results = parse_results("validate=failure test=success train-evaluate=skipped")
    validation = "## Data validation\n❌ **`d.csv` failed 1 of 9 rules**, on 1 column(s): `age`."
    markdown = report_markdown(None, results, "https://run", validation)
    lines = markdown.splitlines()
    assert lines[0] == "## Pipeline stopped before the model was evaluated"
    assert lines[1].startswith(
        "❌ **Stopped at `validate`: the data failed its expectation suite.** Nothing was "
        "compared with the champion"
    )
    assert "### Data validation\n❌ **`d.csv` failed 1 of 9 rules**" in markdown
    assert (
        "| validate | failure |" in markdown
        and "Open [the run](https://run), fix the first job" in markdown
    )
    tests_failed = report_markdown(
        None, parse_results("validate=success test=failure train-evaluate=skipped"), None
    )
    assert "Stopped at `test`: the tests failed" in tests_failed
    assert "Data validation" not in tests_failed
    passed = report_markdown("## Gate passed\n", parse_results("validate=success"), None)
    assert passed.startswith("## Gate passed") and "never deploys" in passed


def post(tmp_path: Path, report_dir: Path, head: str = HEAD) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "PATH": f"{FAKE_GH}{os.pathsep}{os.environ['PATH']}",
        "FAKE_GITHUB_DIR": str(tmp_path / "github"),
        "GH_TOKEN": "token",
        "GITHUB_REPOSITORY": REPOSITORY,
        "HEAD_SHA": head,
    }
    return subprocess.run(
        [sys.executable, str(REPO / "comment_pull_request.py"), "post", str(report_dir)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_post_creates_then_updates_one_comment_and_checks_the_head(tmp_path):
    pulls = tmp_path / "github" / REPOSITORY / "pulls"
    pulls.mkdir(parents=True)
    (pulls / "7.json").write_text(json.dumps({"number": 7, "head": {"sha": HEAD}}))
    comments = tmp_path / "github" / REPOSITORY / "comments" / "7.json"
    comments.parent.mkdir()
    # Someone else's comment quoting the marker is never edited.
    comments.write_text(json.dumps([{"id": 1, "body": MARKER, "user": {"login": "someone"}}]))
    for text in ("first", "second"):
        write_report(tmp_path / text, 7, f"report {text}\n")
        result = post(tmp_path, tmp_path / text)
        assert result.returncode == 0, result.stderr
    posted = json.loads(comments.read_text())
    assert [c["body"] for c in posted] == [MARKER, f"{MARKER}\nreport second\n"]

    stale = post(tmp_path, tmp_path / "second", head="c" * 40)
    assert stale.returncode == 2 and "not commenting a report on other code" in stale.stderr
    assert "Traceback" not in stale.stderr
