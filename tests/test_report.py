"""What readers see: the evaluation and validation summaries, headline first, and data that
cannot break or inject into the markdown."""

import re

import numpy as np
import pandas as pd

from mlops.charts import chart_to_dict, roc_chart
from mlops.data import line_numbers
from mlops.handoff import fit_summary
from mlops.markdown import MAX_CELL, Table, cell
from mlops.report import evaluation_markdown
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


def evaluation(**changes) -> dict:
    base = {
        "registered_model": "model",
        "holdout_rows": 900,
        "run_id": "abc",
        "champion": {"version": "3", "run_id": "r3"},
        "gate": {
            "rule": "non_inferiority",
            "threshold_on": "value",
            "confidence": 0.95,
            "bootstrap_resamples": 1000,
            "seed": 42,
        },
        "gate_changes": None,
        "deploy": False,
        "pull_request": False,
        "summary": "No deploy: log_loss is 0.4000, worse than the champion's 0.3000 beyond the "
        "tolerance of 0.0200 (95% interval +0.0800 to +0.1200).",
        "reasons": ["log_loss is 0.4000, worse than the champion's 0.3000 beyond the tolerance"],
        "checks": [
            {
                "metric": "log_loss",
                "value": 0.4,
                "interval": {"low": 0.38, "high": 0.42},
                "champion": 0.3,
                "delta": 0.1,
                "delta_interval": {"low": 0.08, "high": 0.12},
                "threshold": 0.5,
                "tolerance": 0.02,
                "verdict": "worse beyond tolerance",
                "passed": False,
                "failed": ["champion"],
            }
        ],
    }
    return {**base, **changes}


def test_evaluation_headline_then_table_then_reasons():
    lines = evaluation_markdown(evaluation()).splitlines()
    assert lines[0] == "## Evaluation: `model`"
    assert lines[1].startswith(
        "❌ **Gate failed: no deploy.** log_loss 0.4000, +0.1000 vs champion v3 (worse beyond "
        "tolerance) — log_loss is 0.4000, worse than"
    )
    header = next(line for line in lines if line.startswith("| metric"))
    assert table_cells(header) == [
        "metric",
        "candidate (95% CI)",
        "champion (v3)",
        "Δ candidate − champion (95% CI)",
        "threshold",
        "tolerance",
        "verdict",
        "result",
    ]
    row = next(line for line in lines if line.startswith("| log_loss"))
    assert table_cells(row) == [
        "log_loss",
        "0.4000 (0.3800 to 0.4200)",
        "0.3000",
        "+0.1000 (+0.0800 to +0.1200)",
        "≤ 0.5000",
        "0.0200",
        "worse beyond tolerance",
        "❌ champion",
    ]
    assert lines[-2:] == [
        "",
        "- log_loss is 0.4000, worse than the champion's 0.3000 beyond the tolerance",
    ]


def test_pull_request_wording_and_loosening_on_top():
    changes = {"base_ref": "abc", "loosened": ["gate.thresholds.f1 lowered from 0.5 to 0.4"]}
    passed = evaluation(
        deploy=True,
        pull_request=True,
        gate_changes=changes,
        summary="Deploy: every threshold holds, and no compared metric is worse.",
    )
    lines = evaluation_markdown(passed).splitlines()
    assert lines[1] == "⚠️ **This pull request loosens the gate** (compared with the base branch):"
    assert lines[2] == "- gate.thresholds.f1 lowered from 0.5 to 0.4"
    assert lines[4].startswith("✅ **Gate passed: would deploy after merge.** log_loss 0.4000")
    assert lines[4].endswith("— every threshold holds, and no compared metric is worse.")
    assert "Why not" not in "\n".join(lines)
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
    """Generated awkward files: blank and whitespace-only lines (pandas skips them), quoted
    values over several lines, Windows line ends. Each row's line is where the row starts."""
    rng = np.random.default_rng(7)
    for case in range(20):
        newline = "\r\n" if case % 2 else "\n"
        physical = ["id,note"]
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


def test_a_table_leaves_out_columns_empty_in_every_row_and_aligns_its_text():
    table = Table(["a", "b", "c"], [["1", None, "x|y"], ["22", None, None]])
    assert table.markdown() == "| a | c |\n| --- | --- |\n| 1 | x\\|y |\n| 22 | none |"
    assert table.text() == "a   c\n1   x|y\n22  none"


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


def test_links_to_the_tracking_server_and_the_artifacts():
    links = {
        "run": "https://mlflow.example/#/experiments/1/runs/abc",
        "champion": "https://mlflow.example/#/models/model/versions/3",
        "artifacts": "https://github.com/o/r/actions/runs/9#artifacts",
    }
    text = evaluation_markdown(evaluation(links=links))
    assert (
        "[the run on the tracking server](https://mlflow.example/#/experiments/1/runs/abc) · "
        "[champion v3](https://mlflow.example/#/models/model/versions/3) · charts as PNG and "
        "the full evaluation: [`evaluation` artifact](https://github.com/o/r/actions/runs/9"
        "#artifacts)"
    ) in text
    assert "tracking server" not in evaluation_markdown(evaluation(links={}))


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
