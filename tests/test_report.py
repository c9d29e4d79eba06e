"""What readers see: the evaluation and validation summaries, headline first, and data that
cannot break or inject into the markdown."""

import re
from pathlib import Path

import numpy as np
import pandas as pd

from mlops.charts import chart_to_dict, roc_chart
from mlops.classes import class_report
from mlops.data import line_numbers
from mlops.handoff import fit_summary
from mlops.markdown import MAX_CELL, Table, cell
from mlops.metrics import Predictions, decimals, figure
from mlops.report import evaluation_markdown, evaluation_text, run_location
from mlops.tracking import server_ui_url
from mlops.validation import (
    MAX_TABLE_ROWS,
    FailedExpectation,
    ValidationReport,
    _error,
    _non_numbers,
    _shown,
    _whole_numbers,
    summary_markdown,
)
from tests.rendering import markdown_problems


def table_cells(row: str) -> list[str]:
    """A markdown table row split where GitHub splits it: at pipes not escaped."""
    return [part.strip() for part in re.split(r"(?<!\\)\|", row.strip())[1:-1]]


def test_hostile_values_stay_inside_their_cell():
    hostile = ["a|b", "`rm -rf`", "<script>alert(1)</script>", "line\nbreak", "@octocat", "[x](y)"]
    for value in hostile:
        row = f"| {cell(value)} | next |"
        assert table_cells(row)[1] == "next", row
        assert "<script" not in row and "@octocat" not in row and "\n" not in row
    assert len(cell("x" * 10_000)) == MAX_CELL
    assert cell("a|`b`", code=True) == "`a\\|'b'`"


def check(metric: str, value: float, **fields) -> dict:
    """One metric's row of evaluation.json: judged by neither threshold nor tolerance unless
    given, with no champion unless given."""
    return {
        "metric": metric,
        "value": value,
        "interval": None,
        "champion": None,
        "delta": None,
        "delta_interval": None,
        "threshold": None,
        "tolerance": None,
        "verdict": None,
        "passed": True,
        "failed": [],
        **fields,
    }


def compared(
    metric: str,
    value: float,
    champion: float,
    interval: tuple[float, float],
    delta_interval: tuple[float, float],
    **fields,
) -> dict:
    """A metric scored for both models; the verdict is "no detectable difference" unless
    given."""
    fields.setdefault("verdict", "no detectable difference")
    return check(
        metric,
        value,
        interval=dict(zip(("low", "high"), interval, strict=True)),
        champion=champion,
        delta=value - champion,
        delta_interval=dict(zip(("low", "high"), delta_interval, strict=True)),
        **fields,
    )


def evaluation(**changes) -> dict:
    base = {
        "registered_model": "model",
        "holdout_rows": 900,
        "run_id": "abc",
        "main_metric": "log_loss",
        "champion": {"version": "3", "run_id": "r3"},
        "gate": {
            "rule": "non_inferiority",
            "threshold_on": "value",
            "confidence": 0.95,
            "bootstrap_resamples": 1000,
            "seed": 42,
        },
        "resampling": {"by": "rows", "shortfall": None},
        "gate_changes": None,
        "deploy": False,
        "pull_request": False,
        "summary": "No deploy: log_loss is 0.4000, worse than the champion's 0.3000 beyond the "
        "tolerance of 0.0200 (95% interval +0.0800 to +0.1200).",
        "reasons": [
            "log_loss is 0.4000, worse than the champion's 0.3000 beyond the tolerance of 0.0200 "
            "(95% interval +0.0800 to +0.1200)"
        ],
        "checks": [
            compared(
                "log_loss",
                0.4,
                0.3,
                (0.38, 0.42),
                (0.08, 0.12),
                threshold=0.5,
                tolerance=0.02,
                verdict="worse beyond tolerance",
                passed=False,
                failed=["champion"],
            ),
            compared("accuracy", 0.81, 0.8, (0.79, 0.83), (-0.004, 0.024)),
        ],
        "links": {},
        "tracking_store": "embedded",
    }
    return {**base, **changes}


def passed(**changes) -> dict:
    """A pass against champion v3, decided by roc_auc."""
    roc_auc = compared(
        "roc_auc",
        0.8288,
        0.7389,
        (0.7829, 0.8738),
        (0.0437, 0.1317),
        threshold=0.679,
        tolerance=0.0266,
        verdict="better",
    )
    return evaluation(
        deploy=True,
        main_metric="roc_auc",
        summary="Deploy: every threshold holds, and no compared metric is worse.",
        reasons=["every threshold holds, and no compared metric is worse."],
        checks=[roc_auc],
        **changes,
    )


def first_model(**changes) -> dict:
    rmse = check("rmse", 68200.4, interval={"low": 55706.2, "high": 79235.1}, threshold=70500.0)
    mae = check("mae", 45278.0, interval={"low": 40399.0, "high": 50303.0}, tolerance=3000.0)
    return evaluation(
        deploy=True,
        champion=None,
        main_metric="rmse",
        summary="Deploy: every threshold holds, and there is no champion yet to compare with.",
        reasons=["every threshold holds, and there is no champion yet to compare with."],
        checks=[rmse, mae],
        **changes,
    )


def rows_of(markdown: str) -> list[list[str]]:
    """The cells of every row of the metric table, its header first."""
    lines = [line for line in markdown.splitlines() if line.startswith("| ")]
    return [table_cells(line) for line in lines if not line.startswith("| ---")]


def test_a_failed_headline_names_only_what_decided_then_the_table():
    text = evaluation_markdown(evaluation())
    lines = text.splitlines()
    assert lines[0] == "## Evaluation: `model`"
    assert lines[1] == (
        "❌ **Gate failed: no deploy.** log_loss is 0.4000, worse than the champion's 0.3000 "
        "beyond the tolerance of 0.0200 (95% interval +0.0800 to +0.1200)."
    )
    header, log_loss, accuracy = rows_of(text)
    assert header == [
        "metric",
        "candidate (95% interval)",
        "champion v3",
        "candidate − champion (95% interval)",
        "verdict",
        "threshold",
        "tolerance",
        "result",
    ]
    assert log_loss == [
        "log\\_loss",
        "0.4000 (0.3800 to 0.4200)",
        "0.3000",
        "+0.1000 (+0.0800 to +0.1200)",
        "worse beyond tolerance",
        "at most 0.5000",
        "0.0200",
        "❌ fails champion check",
    ]
    # Neither judged by a threshold nor compared: said in words, no symbol to decode.
    assert accuracy[5:] == ["none", "none", "not judged"]
    assert accuracy[3] == "+0.0100 (-0.0040 to +0.0240)"
    # One reason: the headline says it all, no "Why not" repeats it.
    assert "Why not" not in text
    several = evaluation(reasons=["a is low", "b is high", "c is worse"])
    lines = evaluation_markdown(several).splitlines()
    assert lines[1].endswith("** a is low (and 2 more below).")
    assert "### Why not\n\n- a is low\n- b is high\n- c is worse" in "\n".join(lines)


def test_a_passed_headline_is_the_main_metric_against_the_champion_and_noise():
    headline = evaluation_markdown(passed()).splitlines()[1]
    assert headline == (
        "✅ **Gate passed: deploy.** roc_auc 0.8288, +0.0899 against champion v3: better beyond "
        "noise."
    )
    noise = passed()
    noise["checks"][0].update(
        delta=-0.0004,
        delta_interval={"low": -0.011, "high": 0.0003},
        verdict="no detectable difference",
    )
    assert "roc_auc 0.8288, -0.0004 against champion v3: within noise." in evaluation_markdown(
        noise
    )
    worse = passed()
    worse["checks"][0].update(
        delta=-0.02, delta_interval={"low": -0.025, "high": -0.01}, verdict="worse"
    )
    assert "-0.0200 against champion v3: worse beyond noise, within the tolerance of 0.0266." in (
        evaluation_markdown(worse)
    )
    same = passed()
    same["checks"][0].update(delta=0.0, delta_interval={"low": 0.0, "high": 0.0})
    same["checks"][0]["verdict"] = "no detectable difference"
    assert "roc_auc 0.8288, 0.0000 against champion v3: within noise." in evaluation_markdown(same)
    # Nothing else in the headline: the rule, the method and the run are below it.
    for word in ("non_inferiority", "95%", "1,000", "seed", "abc"):
        assert word not in evaluation_markdown(passed()).splitlines()[1], word


def test_a_first_model_has_no_champion_columns_and_its_threshold_in_the_headline():
    text = evaluation_markdown(first_model(pull_request=True))
    assert text.splitlines()[1] == (
        "✅ **Gate passed: would deploy after merge.** rmse 68,200 meets its threshold (at most "
        "70,500); there is no champion yet to compare with."
    )
    header, rmse, mae = rows_of(text)
    # No champion: its value, the difference, the verdict and the tolerance apply to no row.
    assert header == ["metric", "candidate (95% interval)", "threshold", "result"]
    assert rmse == ["rmse", "68,200 (55,706 to 79,235)", "at most 70,500", "✅ pass"]
    assert mae[2] == "none"
    for symbol in ("–", "·", "Δ", "CI"):
        assert symbol not in text, symbol


def test_method_details_fold_under_the_headline_with_what_an_interval_means():
    text = evaluation_markdown(passed())
    folded = text[text.index("<details>") : text.index("</details>")]
    assert "<summary>How the gate decided</summary>" in folded
    for detail in (
        "same 900 held-out rows as champion v3",
        "judged on each metric's value",
        "`gate.rule: non_inferiority`",
        "95% paired bootstrap, 1,000 resamples of the held-out rows (seed 42)",
        "A 95% interval is the range a figure would likely take on other rows like these; when "
        "the interval of a difference straddles zero, the two models cannot be told apart",
    ):
        assert detail in folded, detail
    assert text.index("<details>") > text.index("Gate passed")
    assert text.index("</details>") < text.index("| metric")
    bound = evaluation_markdown(passed(gate={**passed()["gate"], "threshold_on": "lower_bound"}))
    assert "worse end of each metric's 95% interval (`gate.threshold_on: lower_bound`)" in bound
    alone = evaluation_markdown(first_model())
    assert "straddles zero" not in alone and "only the thresholds apply" in alone


def test_the_method_says_what_each_resample_drew_after_a_grouped_or_time_ordered_split():
    sides = {"training": {"rows": 700, "groups": 136}, "evaluation": {"rows": 200, "groups": 34}}
    by_group = {"rule": "group", "column": "customer|id", "folds": 5, **sides}
    grouped = passed(split=by_group, resampling={"by": "groups", "groups": 34, "shortfall": None})
    assert (
        "95% paired bootstrap, 1,000 resamples of whole groups: the 34 held-out groups of "
        "`customer\\|id`, each drawn with all its rows (seed 42)."
    ) in evaluation_markdown(grouped)
    periods = {
        "training": {"rows": 700, "first": "2020-01-01", "last": "2023-01-20"},
        "evaluation": {"rows": 200, "first": "2023-01-21", "last": "2023-06-15"},
    }
    by_time = {"rule": "time", "column": "date", **periods}
    blocks = {"by": "blocks", "times": 146, "block": 5, "blocks": 30, "shortfall": None}
    assert (
        "95% paired bootstrap, 1,000 resamples of 30 blocks of 5 consecutive times of `date` "
        "(circular, over its 146 distinct held-out times; rows of one time drawn together) "
        "(seed 42)."
    ) in evaluation_markdown(passed(split=by_time, resampling=blocks))
    assert "range a figure would likely take on other groups like these;" in evaluation_markdown(
        grouped
    )
    assert "likely take on another period like this one;" in evaluation_markdown(
        passed(split=by_time, resampling=blocks)
    )


def test_too_few_groups_say_there_are_no_intervals_and_what_to_change():
    why = (
        "the held-out rows hold 4 group(s) of split.group_column, and a bootstrap of whole "
        "groups needs at least 20"
    )
    sides = {"training": {"rows": 700, "groups": 16}, "evaluation": {"rows": 200, "groups": 4}}
    few = evaluation(
        split={"rule": "group", "column": "customer", "folds": 5, **sides},
        resampling={"by": "groups", "groups": 4, "shortfall": why},
        checks=[check("log_loss", 0.4, champion=0.3, delta=0.1, threshold=0.5, tolerance=0.02)],
    )
    text = evaluation_markdown(few)
    assert (
        f"No intervals: {why}. Hold out more of them (a larger `split.test_fraction`), or judge "
        "point estimates (`gate.rule: point`, `gate.threshold_on: value`)."
    ) in text
    assert "interval" not in text[text.index("| metric") :].splitlines()[0]  # no column claims one
    assert "straddles zero" not in text and "Verdicts:" not in text
    assert f"No intervals: {why}." in evaluation_text(few, [], Path("evaluation.md"))
    # Turned off, the shortfall is beside the point.
    off = {**few["gate"], "rule": "point", "bootstrap_resamples": 0}
    assert "No intervals: `gate.bootstrap_resamples` is 0." in evaluation_markdown(
        {**few, "gate": off}
    )


def test_numbers_take_the_precision_of_their_metric():
    assert figure(68200.4, decimals("rmse", 68200.4)) == "68,200"
    assert figure(163.5, decimals("rmse", 68200.4), signed=True) == "+164"
    assert figure(0.0, decimals("rmse", 68200.4), signed=True) == "0"
    assert figure(-0.3, decimals("rmse", 68200.4), signed=True) == "0"  # no negative zero
    assert figure(-0.00004, 4, signed=True) == "0.0000"
    assert figure(-0.0123, 4, signed=True) == "-0.0123"
    assert figure(0.0123, decimals("mae", 0.0123)) == "0.01230"
    assert figure(8.0, decimals("rmse", 8.0)) == "8.000"
    assert decimals("r2", 68200.0) == decimals("log_loss", 3.2) == 4  # unitless: four places
    assert decimals("rmse", None) == decimals("rmse", 0.0) == 4


def test_where_the_run_is_never_a_bare_id():
    server = {
        "run": "https://mlflow.example/#/experiments/1/runs/abc",
        "champion": "https://mlflow.example/#/models/model/versions/3",
        "workflow_run": "https://github.com/o/r/actions/runs/9",
        "artifacts": "https://github.com/o/r/actions/runs/9#artifacts",
    }
    text = evaluation_markdown(evaluation(links=server, tracking_store="https://mlflow.example"))
    assert (
        "MLflow run `abc`: [on the tracking server](https://mlflow.example/#/experiments/1/runs/"
        "abc) · [champion v3](https://mlflow.example/#/models/model/versions/3) · charts as PNG "
        "and the full evaluation: [`evaluation` artifact](https://github.com/o/r/actions/runs/9"
        "#artifacts)."
    ) in text
    github = {k: v for k, v in server.items() if k in ("workflow_run", "artifacts")}
    assert (
        "MLflow run `abc` is in the `mlflow-store` artifact of [this workflow run]"
        "(https://github.com/o/r/actions/runs/9#artifacts)"
    ) in evaluation_markdown(evaluation(links=github))
    local = evaluation_markdown(evaluation())
    assert (
        "MLflow run `abc` is in the local store (`mlflow.db`; browse it with `make ui`)." in local
    )
    elsewhere = run_location("abc", {}, "postgresql://db/mlflow", markdown=False)
    assert elsewhere == "MLflow run abc is in the tracking store postgresql://db/mlflow"


def test_the_terminal_gets_the_decision_table_reasons_and_png_paths(tmp_path):
    figures = [tmp_path / "roc_curve.png", tmp_path / "confusion_matrix.png"]
    chart = chart_to_dict(roc_chart(np.array([True, False]), {"candidate": np.array([0.9, 0.2])}))
    several = evaluation(reasons=["a is low", "b is high"], charts=[chart], mermaid=True)
    text = evaluation_text(several, figures, tmp_path / "evaluation.md")
    lines = text.splitlines()
    assert lines[0] == "Gate failed: no deploy. a is low (and 1 more below)."
    header = lines[2].split()
    assert header[:3] == ["metric", "candidate", "(95%"] and "verdict" in header
    assert lines[3].split()[:2] == ["log_loss", "0.4000"] and "fails champion check" in lines[3]
    # Columns line up: every row starts its second column where the header does.
    start = lines[2].index("candidate")
    assert lines[3][start - 2 : start] == "  " and lines[3][start] != " "
    assert "Why not:\n  - a is low\n  - b is high" in text
    assert "MLflow run abc is in the local store (mlflow.db; browse it with make ui)." in text
    assert f"charts (PNG): {figures[0]}, {figures[1]}" in text
    for markup in ("```", "mermaid", "**", "<details>", "| "):
        assert markup not in text, markup
    loosened = {"base_ref": "x", "loosened": ["gate.rule weakened from point to non_inferiority"]}
    warned = evaluation_text(passed(gate_changes=loosened), [], tmp_path / "evaluation.md")
    assert warned.startswith(
        "warning: This pull request loosens the gate (compared with the base branch):\n"
        "- gate.rule weakened"
    )


def test_each_models_decision_threshold_is_shown_when_either_has_one(tmp_path):
    rule = "tuned to maximise f1 on inner folds of the training rows"
    champion = {"version": "3", "run_id": "r3", "decision_threshold": None}
    tuned = passed(
        champion=champion,
        positive_class="bad|worse",
        decision_threshold=0.3125,
        decision_threshold_rule=rule,
    )
    markdown = evaluation_markdown(tuned)
    line = next(line for line in markdown.splitlines() if line.startswith("Decision threshold"))
    assert line == (
        "Decision threshold on the probability of `bad\\|worse`: candidate 0.3125 "
        f"({rule}), champion v3 the estimator's own predict; the label-based metrics take each "
        "model's labels at its own threshold."
    )
    assert (
        markdown.index("How the gate decided") < markdown.index(line) < markdown.index("| metric")
    )
    text = evaluation_text(tuned, [], tmp_path / "evaluation.md")
    assert "Decision threshold on the probability of 'bad|worse': candidate 0.3125 (" in text
    # The champion's own threshold, when only it has one; none when neither has.
    only_champion = passed(champion={**champion, "decision_threshold": 0.7}, positive_class="1")
    assert "candidate the estimator's own predict, champion v3 0.7;" in evaluation_markdown(
        only_champion
    )
    neither = passed(champion=champion, positive_class="1", decision_threshold=None)
    assert "Decision threshold" not in evaluation_markdown(neither)
    assert "Decision threshold" not in evaluation_markdown(first_model())


def test_a_table_leaves_out_columns_empty_in_every_row_and_aligns_its_text():
    table = Table(["a", "b", "c"], [["1", None, "x|y"], ["22", None, None]])
    assert table.markdown() == "| a | c |\n| --- | --- |\n| 1 | x\\|y |\n| 22 | none |"
    assert table.text() == "a   c\n1   x|y\n22  none"


def test_pull_request_wording_and_loosening_on_top():
    changes = {"base_ref": "abc", "loosened": ["gate.thresholds.f1 lowered from 0.5 to 0.4"]}
    lines = evaluation_markdown(passed(pull_request=True, gate_changes=changes)).splitlines()
    assert lines[1] == "⚠️ **This pull request loosens the gate** (compared with the base branch):"
    assert lines[2] == "- gate.thresholds.f1 lowered from 0.5 to 0.4"
    assert lines[4].startswith("✅ **Gate passed: would deploy after merge.** roc_auc 0.8288")
    rejected = evaluation_markdown(evaluation(pull_request=True))
    assert "❌ **Gate failed: would not deploy after merge.**" in rejected
    unread = evaluation(gate_changes={"base_ref": "abc", "loosened": [], "error": "no such ref"})
    assert "⚠️ The gate could not be compared with the base branch's: no such ref" in (
        evaluation_markdown(unread)
    )


def failure(column: str = "age", **fields) -> FailedExpectation:
    fields.setdefault("observed", None)
    return FailedExpectation(column=column, rule="column values to be between", **fields)


def test_validation_summary_starts_with_the_count_and_the_columns_and_ends_with_the_next_step():
    report = ValidationReport(
        success=False,
        evaluated=40,
        failed=[
            failure(
                observed="3 unexpected value(s)",
                examples=["250", "-1"],
                rows=[4, 9, 12],
                lines=[6, 12, 14],
            ),
            failure("income", observed="5 unexpected value(s)", rows=[40, 41], lines=[42, 43]),
            failure("home|x", examples=["'<b>'"], error="Column values must be of the same type"),
        ],
        result={},
        data_docs=None,
    )
    text = summary_markdown(report, "data/x.csv", "gx/expectations/x.json", "https://run")
    lines = text.splitlines()
    assert lines[1] == (
        "❌ **`data/x.csv` failed 3 of 40 rules**, on 3 column(s): `age`, `income`, `home\\|x`."
    )
    rows = [table_cells(line) for line in lines if line.startswith("| ") and "---" not in line]
    assert rows[0][3:] == ["bad values", "file lines", "rows (from 0)"]
    assert rows[1] == [
        "age",
        "column values to be between",
        "observed 3 unexpected value(s)",
        "250, -1",
        "6, 12, 14",
        "4, 9, 12",
    ]
    assert rows[2][3:] == ["none", "42, 43", "40, 41"]
    assert rows[3][0] == "home\\|x" and rows[3][2].startswith("could not be evaluated: Column")
    assert rows[3][3:] == ["'&lt;b&gt;'", "none", "none"]
    assert (
        "File lines are the lines of the file as an editor numbers them (the header is line 1); "
        "rows count the data rows from 0, as pandas does."
    ) in lines
    assert lines[-1].startswith("**Next:** if the data is wrong, fix it at its source")
    assert "the `validation` artifact of [this run](https://run#artifacts)" in lines[-1]
    assert report.failed[0].describe().endswith("lines 6, 12, 14 (rows 4, 9, 12 from 0)")
    # Without the file's lines (a frame not read from a file), rows alone, still said so.
    unread = ValidationReport(False, 40, [failure(rows=[4])], {}, None)
    text = summary_markdown(unread, "data/x.csv", "gx/expectations/x.json")
    assert "file lines" not in text and "Rows count the data rows from 0" in text


def test_file_lines_follow_blank_lines_and_values_that_span_lines(tmp_path):
    """Generated awkward files: blank and whitespace-only lines (pandas skips them, before
    the header too), quoted values over several lines, Windows line ends. Each row's line is
    where the row starts."""
    rng = np.random.default_rng(7)
    for case in range(20):
        newline = "\r\n" if case % 2 else "\n"
        physical = ["", "  "][: case % 3] + ["id,note"]
        for row in range(30):
            if rng.random() < 0.3:
                physical += [str(rng.choice(["", "   ", "\t"])) for _ in range(rng.integers(1, 3))]
            breaks = int(rng.integers(1, 4)) if rng.random() < 0.3 else 0
            more = [f"b{i}" for i in range(breaks - 1)]
            physical += [f'{row},"a', *more, 'c"'] if breaks else [f"{row},a"]
        path = tmp_path / f"case{case}.csv"
        path.write_bytes((newline.join(physical) + newline).encode())
        assert pd.read_csv(path)["id"].tolist() == list(range(30)), case
        found = line_numbers(path, set(range(30)))
        assert set(found) == set(range(30))
        for row, line in found.items():
            assert physical[line - 1].startswith(f"{row},"), (case, row, line)
        assert line_numbers(path, {3}) == {3: found[3]} and line_numbers(path, set()) == {}


def test_bad_values_are_shown_as_the_file_holds_them():
    # pandas reads a column of whole numbers with a gap as floats: -999.0 there is "-999".
    with_gap = pd.Series([31.0, None, -999.0])
    assert _whole_numbers(with_gap) and not _whole_numbers(pd.Series([1.5, 2.0]))
    assert not _whole_numbers(pd.Series(["a", "b"])) and _whole_numbers(pd.Series([1, 2]))
    assert _shown(-999.0, whole_numbers=True) == "-999"
    assert _shown(-999.0, whole_numbers=False) == "-999.0"
    assert _shown(np.float64(2.5), whole_numbers=True) == "2.5"
    assert _shown(np.int64(3), whole_numbers=False) == "3"
    assert _shown("fl", whole_numbers=True) == "'fl'"


def test_validation_summary_lists_a_bounded_number_of_rules():
    many = [failure(f"c{i}") for i in range(MAX_TABLE_ROWS + 7)]
    report = ValidationReport(False, len(many), many, {}, "file:///docs/index.html")
    text = summary_markdown(report, "d.csv", "gx/expectations/d.json")
    assert len(re.findall(r"\n\| c\d+ \|", text)) == MAX_TABLE_ROWS
    assert "on 57 column(s): `c0`, `c1`" in text and "`c9` and 47 more." in text
    assert "…and 7 more rules" in text and "Data Docs (file:///docs/index.html)" in text
    valid = summary_markdown(ValidationReport(True, 12, [], {}, None), "d.csv", "s.json")
    assert valid == "## Data validation\n✅ `d.csv` passed all 12 rules of `s.json`."


def test_library_errors_are_found_in_both_shapes_of_exception_info():
    direct = {"raised_exception": True, "exception_message": "boom\ntrace"}
    by_metric = {
        "MetricConfigurationID(metric_name='column_values.between.condition')": {
            "raised_exception": True,
            "exception_message": "Column values, min_value, and max_value must be of one type.",
            "exception_traceback": "...",
        }
    }
    assert _error(direct) == "boom"
    assert _error(by_metric) == "Column values, min_value, and max_value must be of one type."
    assert _error({"raised_exception": False, "exception_message": None}) is None
    assert _error(None) is None


def test_text_in_a_numeric_column_is_counted_with_its_rows():
    values = pd.Series(["31", "abc", "40", "abc", None, "n/a"] + ["abc"] * 28)
    finding, examples, rows = _non_numbers(values)
    assert finding == "31 value(s) are not numbers"
    assert examples == ["'abc' ×30", "'n/a' ×1"]
    assert rows == [1, 3, 5, 6, 7]
    assert _non_numbers(pd.Series([1.0, None, 3.0])) is None


def test_charts_follow_the_mermaid_switch():
    y = np.array([True, False, True, False, True, False])
    chart = chart_to_dict(roc_chart(y, {"candidate": np.array([0.9, 0.1, 0.8, 0.3, 0.4, 0.6])}))
    drawn = evaluation_markdown(evaluation(charts=[chart], mermaid=True))
    assert "### Charts" in drawn and "```mermaid" in drawn
    tables = evaluation_markdown(evaluation(charts=[chart], mermaid=False))
    assert "```mermaid" not in tables and "**ROC curve** (true positive rate)" in tables
    assert "### Charts" not in evaluation_markdown(evaluation())


def test_server_ui_url_drops_credentials_and_ignores_local_stores():
    assert server_ui_url("https://user:pw@mlflow.example:5000/base/") == (
        "https://mlflow.example:5000/base"
    )
    assert server_ui_url("http://127.0.0.1:5000") == "http://127.0.0.1:5000"
    assert server_ui_url("sqlite:///mlflow.db") is None
    assert server_ui_url("file:///tmp/mlruns") is None


def test_summaries_are_cut_to_fit_whole_lines_and_closed_code_blocks():
    text = "# title\n```mermaid\n" + "\n".join(f"line {i}" for i in range(1000)) + "\n```"
    cut = fit_summary(text, limit=500)
    assert len(cut.encode()) <= 520 and cut.endswith("the artifacts hold it all._")
    body = cut.rsplit("\n\n", 1)[0]
    assert body.count("```") % 2 == 0 and all(
        line.startswith(("#", "```", "line ")) for line in body.splitlines()
    )
    assert fit_summary("short") == "short"


# ---------------------------------------------------------------- classes (multiclass)


def multiclass(
    names: list[str],
    champion_classes: list[str] | None,
    rows: int = 600,
    candidate_classes: list[str] | None = None,
    held_out: int | None = None,
) -> dict:
    """An evaluation of a candidate that knows `candidate_classes` (default: `names`) against
    a champion that knows `champion_classes`, or none: probabilities that favour the true
    class, NaN for a class a model does not know. The held-out rows hold the first
    `held_out` classes (default: all), the last of them rare."""
    rng = np.random.default_rng(0)
    count, held_out = len(names), held_out or len(names)
    shares = np.r_[np.full(held_out - 1, 0.97 / (held_out - 1)), 0.03]
    truth = rng.choice(held_out, rows, p=shares)
    candidate_classes = candidate_classes or names

    def model(shift: float, known: list[str]) -> Predictions:
        unknown = [name not in known for name in names]
        logits = rng.normal(size=(rows, count))
        logits[np.arange(rows), truth] += shift
        logits[:, unknown] = -np.inf
        scores = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
        scores[:, unknown] = np.nan
        return Predictions(np.nanargmax(scores, axis=1), scores)

    candidate = model(2.0, candidate_classes)
    champion = model(1.5, champion_classes) if champion_classes else None
    metrics = ["f1_macro", "log_loss", "roc_auc_ovr"]
    classes = class_report(
        names, truth, candidate, champion, candidate_classes, champion_classes, metrics
    )
    return evaluation(
        holdout_rows=rows,
        classes=classes,
        champion={"version": "3", "run_id": "r3"} if champion else None,
    )


def table_from(markdown: str, first_cell: str) -> list[list[str]]:
    """The rows of the table whose header starts with `first_cell`."""
    start = markdown.index(f"| {first_cell} |")
    return rows_of(markdown[start:].split("\n\n", 1)[0])


def section(markdown: str, title: str) -> str:
    start = markdown.index(f"### {title}")
    end = markdown.find("\n### ", start + 1)
    return markdown[start:] if end < 0 else markdown[start:end]


def test_classes_get_a_per_class_table_and_the_confusion_matrix():
    report = evaluation_markdown(multiclass(["CH", "RT", "SS"], ["CH", "RT", "SS"]))
    assert markdown_problems(report) == []
    classes = section(report, "Classes")
    assert "3 classes in the 600 held-out rows, the rarest 'SS' with" in classes
    per_class, matrix = table_from(classes, "class"), table_from(classes, "true class")
    assert per_class[0] == [
        "class",
        "held-out rows",
        "precision",
        "champion v3 precision",
        "recall",
        "champion v3 recall",
    ]
    assert [row[0] for row in per_class[1:]] == ["CH", "RT", "SS"]
    assert matrix[0] == ["true class", "CH", "RT", "SS"]
    # Each row of the matrix holds its class's held-out rows.
    held_out = {row[0]: int(row[1]) for row in per_class[1:]}
    assert {row[0]: sum(int(n) for n in row[1:]) for row in matrix[1:]} == held_out
    assert not any("–" in line for line in classes.splitlines() if line.startswith("|"))
    text = evaluation_text(multiclass(["CH", "RT", "SS"], None), [], Path("evaluation.md"))
    assert "Confusion matrix of the candidate" in text and "\nCH " in text


def test_fifty_classes_fold_the_table_and_show_the_largest_confusions():
    names = [f"category {i:02d}" for i in range(50)]
    report = evaluation_markdown(multiclass(names, names, rows=5000))
    assert markdown_problems(report) == [] and len(report) < 65_536
    classes = section(report, "Classes")
    assert "<details><summary>Precision and recall of each of the 50 classes</summary>" in classes
    top = table_from(classes, "true class")
    assert top[0] == ["true class", "predicted as", "rows", "share of the class's rows"]
    counts = [int(row[2]) for row in top[1:]]
    assert len(counts) == 10 and counts == sorted(counts, reverse=True)
    assert all(row[0] != row[1] for row in top[1:])


def test_a_champion_with_other_classes_is_compared_on_labels_and_said_so():
    """'SS' was added since the champion was trained, which knew 'XX', since removed: its
    label metrics compare on every held-out row, its probability metrics cannot."""
    evaluated = multiclass(
        ["CH", "RT", "SS", "XX"],
        ["CH", "RT", "XX"],
        candidate_classes=["CH", "RT", "SS"],
        held_out=3,
    )
    classes = evaluated["classes"]
    assert (classes["added"], classes["removed"]) == (["SS"], ["XX"])
    assert classes["not_held_out"] == ["XX"]
    assert classes["not_compared"] == ["log_loss", "roc_auc_ovr"]
    report = section(evaluation_markdown(evaluated), "Classes")
    assert "The champion v3 was trained on other classes: 'SS' added since" in report
    assert "'XX' removed since (what the champion still predicts of it are its errors)" in report
    assert "log_loss, roc_auc_ovr: not compared with the champion" in report
    per_class = {row[0]: row for row in table_from(report, "class")[1:]}
    assert per_class["SS"][5] == "0.0000"  # the champion's recall: it never predicts 'SS'
    assert per_class["XX"][2] == "none predicted" and per_class["XX"][4] == "no held-out row"


def test_a_class_predicted_but_absent_from_the_held_out_rows_is_named():
    names = ["a", "b", "c"]
    truth = np.array([0, 0, 1, 1, 0, 1])
    labels = np.array([0, 2, 1, 1, 0, 1])  # 'c' predicted once, never true
    scores = np.eye(3)[labels]
    classes = class_report(names, truth, Predictions(labels, scores), None, names, None, [])
    assert classes["not_held_out"] == ["c"] and classes["candidate"]["precision"][2] == 0.0
    report = section(evaluation_markdown(evaluation(classes=classes, champion=None)), "Classes")
    assert "No held-out row has class 'c'; the candidate predicts 'c' for some rows" in report
    recall = {row[0]: row[-1] for row in table_from(report, "class")[1:]}
    assert recall["c"] == "no held-out row"
