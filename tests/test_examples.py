"""What pull-request readers get, looked at as GitHub shows it: each scenario of both fixture
projects renders with whole tables, escaped data and Mermaid charts that Mermaid's own parser
accepts; the examples committed in docs/examples/ are such renders."""

import re

import pytest

from tests.conftest import CLASSIFICATION, REGRESSION, REPO
from tests.examples import COMMITTED, DOCS, SCENARIOS, render
from tests.rendering import markdown_problems, mermaid_blocks

pytestmark = pytest.mark.slow

# The headline under the comment's marker, per scenario: the decision and its reason.
HEADLINES = {
    "first-model": r"✅ \*\*Gate passed: would deploy after merge\.\*\* \w+ -?[\d.,]+ meets its "
    r"threshold \(at (least|most) [\d.,]+\); there is no champion yet to compare with\.$",
    "gate-passed": r"✅ \*\*Gate passed: would deploy after merge\.\*\* \w+ -?[\d.,]+, 0(\.0+)? "
    r"against champion v1: within noise\.$",
    "gate-failed": r"❌ \*\*Gate failed: would not deploy after merge\.\*\* \w+ is -?[\d.,]+, "
    r"(minimum|maximum) allowed is [\d.,]+\.$",
    "validation-failed": r"❌ \*\*Stopped at `validate`: the data failed its expectation "
    r"suite\.\*\*",
}


def headline(comment: str) -> str:
    lines = comment.splitlines()
    assert lines[0] == "<!-- model-evaluation -->" and lines[1].startswith("## "), lines[:2]
    return lines[2]


@pytest.fixture(scope="module", params=[CLASSIFICATION, REGRESSION])
def rendered(request, tmp_path_factory) -> dict[str, str]:
    return render(tmp_path_factory.mktemp(f"examples-{request.param}"), request.param)


def test_every_scenario_reads_as_it_should_on_github(rendered):
    assert list(rendered) == list(SCENARIOS)
    for scenario, comment in rendered.items():
        assert markdown_problems(comment) == [], scenario
        assert re.match(HEADLINES[scenario], headline(comment)), (scenario, headline(comment))
        assert len(comment) < 65_536
    charts = {scenario: len(mermaid_blocks(comment)) for scenario, comment in rendered.items()}
    # Candidate curves and importances; with a champion, its curves and the metric history.
    assert charts == {"first-model": 3, "gate-passed": 4, "gate-failed": 4, "validation-failed": 0}
    assert "orange: champion v1" in rendered["gate-passed"]
    stopped = rendered["validation-failed"]
    assert "&lt;script&gt;alert(1)&lt;/script&gt;\\|\\`x\\`" in stopped  # shown, not run
    assert "-999" in stopped and "**Next:**" in stopped


def test_the_checks_catch_what_github_would_show_broken():
    broken_chart = "```mermaid\nxychart-beta\n    line [1, 2\n```"
    assert any("Mermaid chart 1" in p for p in markdown_problems(broken_chart))
    split_row = "| a | b |\n|---|---|\n| x | `c|d` |"
    assert markdown_problems(split_row) == ["line 3: 3 cells, the header has 2"]
    assert "a code block is never closed" in markdown_problems("```mermaid\nxychart-beta\n")
    assert any("raw HTML" in p for p in markdown_problems("| a |\n|---|\n| <b>x</b> |"))


def test_committed_examples_are_current_renders():
    for scenario, fixture in COMMITTED.items():
        comment = (DOCS / f"{scenario}.md").read_text(encoding="utf-8")
        assert markdown_problems(comment) == [], scenario
        assert re.match(HEADLINES[scenario], headline(comment)), (scenario, fixture)
        assert f"docs/examples/{scenario}.md" in (REPO / "README.md").read_text(), scenario
