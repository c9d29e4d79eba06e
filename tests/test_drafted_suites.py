"""A suite drafted from a CSV validates that CSV: awkward generated tables go through
`make adapt`'s drafting (profile, baseline, config and suite written with GX) and then through
the validation step, on the same file. Each seed mixes the awkward columns differently."""

import string
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mlops.adapt import draft_project
from mlops.config import load_config
from mlops.errors import PipelineError
from mlops.steps.validate import validate

SEEDS = (0, 1, 2)


def sprinkle(rng: np.random.Generator, values: list, empty_share: float) -> list:
    """`values` with about `empty_share` of them left empty (an empty CSV field)."""
    return [None if rng.random() < empty_share else v for v in values]


def words(rng: np.random.Generator, length: int) -> str:
    return "".join(rng.choice(list(string.ascii_lowercase), length))


def awkward_columns(rng: np.random.Generator, rows: int) -> dict[str, list]:
    """Column name -> the CSV fields of each row (None: an empty field)."""

    def pick(choices: list, empty_share: float = 0.0) -> list:
        return sprinkle(rng, [choices[i] for i in rng.integers(0, len(choices), rows)], empty_share)

    numbers = rng.normal(50, 20, rows).round(3)
    columns = {
        "almost empty": sprinkle(rng, numbers.tolist(), 0.96),
        "almost_empty_text": pick(["a", "b", "c"], 0.96),
        "one in a hundred": sprinkle(rng, numbers.tolist(), 0.99),
        "empty but one": [None] * (rows - 1) + ["4.5"],
        "entirely empty": [None] * rows,
        "one value": ["same"] * rows,
        "one value with gaps": pick(["7"], 0.3),
        "all distinct integers": (rng.permutation(rows) * 7 - 1000).tolist(),
        "all distinct text": [f"id-{i:05d}" for i in rng.permutation(rows)],
        "integers with gaps": sprinkle(rng, rng.integers(-50, 10_000, rows).tolist(), 0.25),
        "codes with gaps": pick([1, 2, 3, 9], 0.2),
        "flag": pick([0, 1]),
        "numberish text": pick(["007", "1e3", "0x1F", "-0", "+5", "1,000", " 12 ", "1_000"]),
        "na lookalikes": pick(["NA", "null", "None", "N/A", "nan", "NULL", "none", "-", "?", "ok"]),
        "numbers or na": pick(["NA", "null", "None", "1", "2.5", "-3"]),
        "long text": pick(["x" * 5000, "y" * 3000 + ", z", words(rng, 400)]),
        "free text": [words(rng, 30) for _ in range(rows)],
        "unicode ü 日本": pick(
            ["héllo", "日本語", "emoji 😀", "ñandú", "Ω≈ç√", "עברית", "e\u0301"]
        ),
        "booleans": pick(["True", "False"]),
        "booleans with gaps": pick(["True", "False"], 0.3),
        "yes or no": pick(["yes", "no"], 0.1),
        "infinite": pick(["inf", "1.5", "-inf", "2"]),
        "tiny": (rng.normal(size=rows) * 1e-300).tolist(),
        "huge": (rng.normal(size=rows) * 1e300).tolist(),
        "near float limits": pick([1.7e308, -1.7e308, 0.0, 1.0]),
        "large offset, tiny spread": (1e6 + rng.normal(size=rows) * 1e-7).tolist(),
        "negative": (-rng.exponential(size=rows)).tolist(),
        "quoted": pick(['a "quoted" word', "comma, inside", "line\nbreak", "plain"]),
        "spaces": pick([" padded ", "   ", "x"]),
        "mixed": pick(["1", "two", "3.5", "2024-01-05"]),
        "2024": pick(["2020-02-29", "1999-12-31", "2024-06-01"], 0.05),
        "a.b": numbers.tolist(),
    }
    return columns


def awkward_table(rng: np.random.Generator, rows: int, target: list) -> pd.DataFrame:
    """A random subset of the awkward columns, in a random order, and the target."""
    columns = awkward_columns(rng, rows)
    names = [name for name in columns if rng.random() < 0.7]
    if not names:
        names = ["flag"]
    table = {name: columns[name] for name in rng.permutation(names)}
    table["target"] = target
    return pd.DataFrame(table, dtype=object)


def binary_target(rng: np.random.Generator, rows: int, rare: int | None = None) -> list:
    labels = [["yes", "no"], [0, 1], ["True", "False"], ["churned", "stayed"]][rng.integers(0, 4)]
    if rare is None:
        return [labels[i] for i in rng.integers(0, 2, rows)]
    picked = [labels[0]] * rows
    for i in rng.choice(rows, rare, replace=False):
        picked[i] = labels[1]
    return picked


def draft_then_validate(root: Path, table: pd.DataFrame, name: str) -> None:
    """Write the table, draft a project from it as `make adapt` does, then validate the same
    file with the project's validation step: every drafted rule must hold."""
    (root / "data").mkdir(parents=True)
    table.to_csv(root / "data" / f"{name}.csv", index=False)
    draft = draft_project(root / "config.yaml", Path(f"data/{name}.csv"), "target")
    validated = validate(load_config(root / "config.yaml"))
    failed = "\n".join(f.describe()[:300] for f in validated.report.failed)
    assert validated.report.success, f"{name}: the drafted suite fails its own data:\n{failed}"
    assert validated.report.evaluated == draft.rules
    for column in draft.profile.columns:
        assert column.kind != "left out" or column.note, f"{column.name}: left out, no reason"


@pytest.mark.slow
@pytest.mark.parametrize("seed", SEEDS)
def test_a_suite_drafted_from_awkward_tables_validates_them(tmp_path, seed):
    rng = np.random.default_rng(seed)

    rows = int(rng.integers(30, 400))
    draft_then_validate(
        tmp_path / "wide", awkward_table(rng, rows, binary_target(rng, rows)), "wide"
    )

    # A rare class: two or three rows.
    rows = int(rng.integers(100, 300))
    rare = awkward_table(rng, rows, binary_target(rng, rows, rare=int(rng.integers(2, 4))))
    draft_then_validate(tmp_path / "rare", rare, "rare")

    # Many duplicated rows, a numeric target.
    distinct = int(rng.integers(5, 40))
    unique = awkward_table(rng, distinct, rng.normal(100, 30, distinct).round(2).tolist())
    copies = unique.iloc[rng.integers(0, distinct, int(rng.integers(100, 400)))]
    draft_then_validate(tmp_path / "duplicates", copies, "duplicates")

    # The smallest tables that can be drafted: two rows of each class, four for regression.
    tiny = awkward_table(rng, 4, ["a", "b", "a", "b"] if seed % 2 else [1.5, 2.0, 7.25, -3.0])
    draft_then_validate(tmp_path / "tiny", tiny, "tiny")


@pytest.mark.parametrize(
    ("target", "message"),
    [
        (["a"], "the target 'target' has a single value ('a')"),
        (["a", "b", "a"], "has 1 row of class 'b'; each class needs at least 2"),
        ([1.5, 2.5, 3.5], "3 rows; regression needs at least 4"),
    ],
    ids=["one-row", "one-row-of-a-class", "three-rows-regression"],
)
def test_tables_too_small_to_draft_are_refused_with_a_reason(tmp_path, target, message):
    rng = np.random.default_rng(0)
    (tmp_path / "data").mkdir()
    awkward_table(rng, len(target), target).to_csv(tmp_path / "data" / "t.csv", index=False)
    with pytest.raises(PipelineError, match=message.replace("(", r"\(").replace(")", r"\)")):
        draft_project(tmp_path / "config.yaml", Path("data/t.csv"), "target")
    assert not (tmp_path / "config.yaml").exists() and not (tmp_path / "gx").exists()
