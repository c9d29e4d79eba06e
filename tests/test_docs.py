"""The documentation names only what exists: make targets, config keys, paths and links
(tests/docs_check.py says what counts as each). Every page of README.md and docs/ is read, so a
new page is checked without being listed here."""

from pathlib import Path

import pytest

from mlops.config import Config
from tests.docs_check import Names, anchors, page_problems, repository_names, slug

REPO = Path(__file__).resolve().parent.parent
PAGES = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]


def test_every_page_names_only_what_exists():
    names = repository_names(REPO)
    problems = [
        problem for page in PAGES for problem in page_problems(page, page.read_text(), names)
    ]
    assert problems == []


# ---------------------------------------------------------------- the checker, on a small repo


@pytest.fixture
def names(tmp_path: Path) -> Names:
    files = {
        "Makefile": "PY := python\npipeline: install ## run\n\t$(PY) run.py\ntest-fast:\n",
        "mlops/gate.py": "TAG = 'gate.decision'\n",
        "docs/other.md": "# Other\n\n## Where it lives\n\n## Where it lives\n",
        "docs/page.md": "",
    }
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    return Names(
        root=tmp_path,
        targets=frozenset({"pipeline", "test-fast"}),
        config=Config,
        files=frozenset(files),
        code=files["mlops/gate.py"],
        is_ignored=lambda path: path.startswith("outputs/"),
    )


def check(names: Names, text: str) -> list[str]:
    return page_problems(names.root / "docs" / "page.md", text, names)


GOOD_PAGE = """# Page

Run `make pipeline`, then `make test-fast DATA=x.csv`; set `gate.rule`, `model.params.C` and
`monitoring.data`. The tag `gate.decision` is written by the code. Files: `mlops/gate.py`,
`gate.py`, `mlops/`, `./Makefile`; generated: `outputs/evaluation.json`; a fork's own:
`data/your.csv`, `gx/expectations/your.json`; not repository paths: `actions/checkout`,
`/proc`, `text/csv`, `evaluation/`. Links: [other](other.md),
[its section](other.md#where-it-lives-1), [here](#page), [the site](https://example.com/x#y),
[a fork's data](../data/README.md),
`[not a link](nowhere.md)`.

```bash
make pipeline   # and a comment that says make no target
```
"""


def test_a_page_naming_only_what_exists_passes(names):
    assert check(names, GOOD_PAGE) == []


@pytest.mark.parametrize(
    "line, problem",
    [
        ("Run `make pipelin`.", "`make pipelin`: no such target in the Makefile"),
        ("```\nmake tset\n```", "`make tset`: no such target in the Makefile"),
        ("Set `gate.rul`.", "`gate.rul`: no such key in config.yaml's models"),
        ("Set `monitoring.data.path`.", "`monitoring.data.path`: no such key"),
        ("See `mlops/gaet.py`.", "`mlops/gaet.py`: no such file or folder"),
        ("See `mlops/steps/`.", "`mlops/steps/`: no such file or folder"),
        ("See `gaet.py`.", "`gaet.py`: no file of that name in the repository"),
        ("See [other](othr.md).", "link othr.md: no such file"),
        ("See [other](other.md#where-it-is).", "link other.md#where-it-is: no heading"),
        ("See [here](#nowhere).", "link #nowhere: no such heading"),
        ("See [up](../../outside.md).", "link ../../outside.md: outside the repository"),
    ],
)
def test_each_broken_name_is_reported(names, line, problem):
    problems = check(names, f"# Page\n\n{line}\n")
    assert len(problems) == 1 and problem in problems[0], problems
    assert problems[0].startswith("docs/page.md: ")


def test_anchors_are_githubs():
    assert slug("The template's self-tests") == "the-templates-self-tests"
    assert slug("1. Validate: `validate_data.py` (`make validate`)") == (
        "1-validate-validate_datapy-make-validate"
    )
    assert slug("CI/CD: [pull requests](x.md), forks included") == (
        "cicd-pull-requests-forks-included"
    )
    assert anchors("# A\n## A\n```\n# not a heading\n```\n## A\n") == {"a", "a-1", "a-2"}
