"""validate_data.py on a fixture project's data and on a few corrupted copies of it."""

import json

import pytest

from mlops.config import load_config
from mlops.data import load_dataset
from mlops.validation import validate_frame
from tests.conftest import Project, rewrite_data, set_field

pytestmark = pytest.mark.slow


def test_valid_data_passes_every_expectation(project):
    result = project.run("validate_data.py")
    assert result.returncode == 0, result.stderr
    count = project.expectation_count()
    assert f"valid ({count} expectations met)" in result.stdout
    saved = json.loads((project.outputs / "validation.json").read_text())
    assert saved["success"] is True and len(saved["results"]) == count
    # Valid data needs only the verdicts: no second, detailed run and no Data Docs.
    assert "data docs:" not in result.stdout


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (
            # Whole numbers stay whole (pandas reads the column as floats: it has gaps), and
            # the row is given as the file's line.
            lambda ls: set_field(ls, 1, "age", "250"),
            "age: column values to be between min_value=10, max_value=106; observed 1 "
            "unexpected value(s) (0.07% of rows); e.g. 250; lines 2 (rows 0 from 0)",
        ),
        (lambda ls: set_field(ls, 1, "stateabb", "ZZ"), "e.g. 'ZZ'"),
        (lambda ls: set_field(ls, 1, "vote", "7"), "vote: column values to be in set"),
        (
            lambda ls: [ls[0].replace("vote", "turnout"), *ls[1:]],
            "(table): table columns to match set",
        ),
        (lambda ls: ls[:200], "(table): table row count to be between"),
        (
            # A range rule GX cannot evaluate on text: its own error, and what the data holds.
            lambda ls: set_field(ls, 3, "south", "abc"),
            "south: column values to be between min_value=0.0, max_value=1.0: could not be "
            "evaluated (Column values, min_value, and max_value must either be None or of the "
            "same type.); 1 value(s) are not numbers; e.g. 'abc' ×1; lines 4 (rows 2 from 0)",
        ),
        (
            # A missing value is shown by its row, not as nan.
            lambda ls: set_field(ls, 2, "govrace", ""),
            "govrace: column values to not be null; observed 1 unexpected value(s) (0.",
        ),
    ],
    ids=[
        "out-of-range",
        "unseen-category",
        "third-class",
        "renamed-target",
        "too-few-rows",
        "text-in-a-range-column",
        "missing-value",
    ],
)
def test_corrupted_data_fails_with_a_clear_message(project: Project, edit, expected):
    rewrite_data(project, edit)
    result = project.run("validate_data.py")
    assert result.returncode == 1
    assert f"{project.data_path.name}: INVALID" in result.stdout
    assert expected in result.stdout
    docs = project.root / "gx" / "uncommitted" / "data_docs" / "local_site" / "index.html"
    assert docs.is_file() and f"data docs:   {docs.as_uri()}" in result.stdout
    assert "nan" not in result.stdout
    if "not be null" in expected:
        assert "% of rows); lines 3 (rows 1 from 0)" in result.stdout
    assert "Traceback" not in result.stdout + result.stderr


def test_unreadable_file_is_refused_before_validation(project):
    project.data_path.write_bytes(b"vote,age\n\xff\xfe,1\n")
    result = project.run("validate_data.py")
    assert result.returncode == 2
    assert f"{project.data_path.name}: not UTF-8 text" in result.stderr
    assert "Traceback" not in result.stderr


def test_rows_are_reported_by_position_whatever_the_frame_index(project):
    frame = load_dataset(project.data_path)
    frame.loc[3, "age"] = 250
    # An index of text, as pandas makes it when every row has a field more than the header.
    shifted = frame.set_axis([f"r{i}" for i in range(len(frame))])
    report = validate_frame(shifted, load_config(project.config_path))
    (failure,) = report.failed
    assert failure.column == "age" and failure.rows == [3]
