"""What pull-request readers get, looked at as GitHub shows it: each scenario of both fixture
projects renders with whole tables, data shown as text and Mermaid charts that Mermaid's own
parser accepts, and the gate does visible work (a better, a within-noise and a worse candidate
against the same champion); the examples committed in docs/examples/ are such renders."""

import re

import pytest

from tests.conftest import CLASSIFICATION, REGRESSION, REPO
from tests.examples import COMMITTED, DOCS, RUN_URL, SCENARIOS, Example, render
from tests.rendering import markdown_problems, mermaid_blocks

pytestmark = pytest.mark.slow

# The headline under the comment's marker, per scenario: the decision and only what decided.
FIGURE = r"-?[\d.,]+"
HEADLINES = {
    "first-model": rf"✅ \*\*Gate passed: would deploy after merge\.\*\* \w+ {FIGURE} meets its "
    r"threshold \(at (least|most) [\d.,]+\); there is no champion yet to compare with\.$",
    "gate-passed": rf"✅ \*\*Gate passed: would deploy after merge\.\*\* \w+ {FIGURE}, "
    rf"\+?{FIGURE} against champion v1: better beyond noise\.$",
    "within-noise": rf"✅ \*\*Gate passed: would deploy after merge\.\*\* \w+ {FIGURE}, "
    rf"\+?{FIGURE} against champion v1: within noise\.$",
    "gate-failed": r"❌ \*\*Gate failed: would not deploy after merge\.\*\* \w+ is "
    rf"{FIGURE}, (minimum|maximum) allowed is {FIGURE} \(and \d+ more below\)\.$",
    "validation-failed": r"❌ \*\*Stopped at `validate`: the data failed its expectation "
    r"suite\.\*\*",
}


def headline(comment: str) -> str:
    lines = comment.splitlines()
    assert lines[0] == "<!-- model-evaluation -->" and lines[1].startswith("## "), lines[:2]
    return lines[2]


def main_check(example: Example) -> dict:
    evaluation = example.evaluation
    return next(c for c in evaluation["checks"] if c["metric"] == evaluation["main_metric"])


@pytest.fixture(scope="module", params=[CLASSIFICATION, REGRESSION])
def rendered(request, tmp_path_factory) -> dict[str, Example]:
    return render(tmp_path_factory.mktemp(f"examples-{request.param}"), request.param)


def test_every_scenario_reads_as_it_should_on_github(rendered):
    assert list(rendered) == list(SCENARIOS)
    for scenario, example in rendered.items():
        comment = example.comment
        assert markdown_problems(comment) == [], scenario
        assert re.match(HEADLINES[scenario], headline(comment)), (scenario, headline(comment))
        assert len(comment) < 65_536
        table_rows = [line for line in comment.splitlines() if line.startswith("|")]
        assert not any("·" in row or "–" in row for row in table_rows), scenario
        assert "-0.0 " not in comment and "-0.0," not in comment, scenario
        if example.evaluation:  # the run is linked, the method folded under the headline
            assert f"artifact of [this workflow run]({RUN_URL}#artifacts)" in comment, scenario
            assert comment.index("<details>") < comment.index("| metric")
    charts = {scenario: len(mermaid_blocks(e.comment)) for scenario, e in rendered.items()}
    # Candidate curves and importances; with a champion, its curves and the metric history.
    assert charts == {
        "first-model": 3,
        "gate-passed": 4,
        "within-noise": 4,
        "gate-failed": 4,
        "validation-failed": 0,
    }
    assert "champion" not in rendered["first-model"].comment.split("| metric", 1)[1].split("\n")[0]
    stopped = rendered["validation-failed"].comment
    # -999 as the file has it: a whole number in a column of whole numbers, else a float.
    assert re.search(r"\| -999(\.0)? \|", stopped), stopped
    assert "| 2, 6, 10 | 0, 4, 8 |" in stopped and "**Next:**" in stopped  # lines, then rows


def test_the_gate_does_visible_work_against_the_champion(rendered):
    """The same champion against a clearly better, a within-noise and a clearly worse model,
    on the same held-out rows."""
    for scenario in ("gate-passed", "within-noise", "gate-failed"):
        evaluation = rendered[scenario].evaluation
        assert evaluation["champion"]["version"] == "1", scenario
        assert evaluation["holdout_rows"] == rendered["first-model"].evaluation["holdout_rows"]
        assert "orange: champion v1" in rendered[scenario].comment
    better = rendered["gate-passed"]
    assert better.evaluation["deploy"] and main_check(better)["verdict"] == "better"
    noise = rendered["within-noise"]
    interval = main_check(noise)["delta_interval"]
    assert noise.evaluation["deploy"] and interval["low"] < 0 < interval["high"], interval
    assert main_check(noise)["delta"] != 0  # a different model, not the champion again
    worse = rendered["gate-failed"]
    assert not worse.evaluation["deploy"]
    assert main_check(worse)["verdict"] == "worse beyond tolerance"
    assert any("worse than the champion's" in r for r in worse.evaluation["reasons"])


def test_the_checks_catch_what_github_would_show_broken():
    broken_chart = "```mermaid\nxychart-beta\n    line [1, 2\n```"
    assert any("Mermaid chart 1" in p for p in markdown_problems(broken_chart))
    split_row = "| a | b |\n|---|---|\n| x | `c|d` |"
    assert markdown_problems(split_row) == ["line 3: 3 cells, the header has 2"]
    assert "a code block is never closed" in markdown_problems("```mermaid\nxychart-beta\n")
    assert any("raw HTML" in p for p in markdown_problems("| a |\n|---|\n| <b>x</b> |"))


def test_committed_examples_are_current_renders():
    readme = (REPO / "README.md").read_text()
    for scenario, fixture in COMMITTED.items():
        comment = (DOCS / f"{scenario}.md").read_text(encoding="utf-8")
        assert markdown_problems(comment) == [], scenario
        assert re.match(HEADLINES[scenario], headline(comment)), (scenario, fixture)
        assert f"docs/examples/{scenario}.md" in readme, scenario
    # Ages are whole numbers, read as floats because some are missing: shown as the file has them.
    assert "| -999 |" in (DOCS / "validation-failed.md").read_text(encoding="utf-8")
