"""validate_data.py on the real data and on a few corrupted copies of it."""

import json

import pytest

from tests.conftest import Project

pytestmark = pytest.mark.slow


def corrupt(project: Project, edit) -> str:
    path = project.root / "data" / "credit.csv"
    lines = path.read_text().splitlines()
    path.write_text("\n".join(edit(lines)) + "\n")
    return "data/credit.csv"


def test_real_data_is_valid(project):
    result = project.run("validate_data.py")
    assert result.returncode == 0, result.stderr
    assert "valid (45 expectations met)" in result.stdout
    saved = json.loads((project.outputs / "validation.json").read_text())
    assert saved["success"] is True
    assert (
        project.root / "gx" / "uncommitted" / "data_docs" / "local_site" / "index.html"
    ).is_file()


def _replace_field(line: str, index: int, value: str) -> str:
    fields = line.split(",")
    fields[index] = value
    return ",".join(fields)


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        # age (column 4) out of range
        (
            lambda ls: [ls[0], _replace_field(ls[1], 4, "250"), *ls[2:]],
            "age: column values to be between min_value=18",
        ),
        # an unseen category in home (column 2)
        (lambda ls: [ls[0], _replace_field(ls[1], 2, "castle"), *ls[2:]], "e.g. 'castle'"),
        # a third target class
        (
            lambda ls: [ls[0], _replace_field(ls[1], 0, "maybe"), *ls[2:]],
            "status: column values to be in set",
        ),
        # the target column renamed
        (
            lambda ls: [ls[0].replace("status", "outcome"), *ls[1:]],
            "(table): table columns to match set",
        ),
        # too few rows
        (lambda ls: ls[:200], "(table): table row count to be between"),
    ],
    ids=["out-of-range", "unseen-category", "third-class", "renamed-target", "too-few-rows"],
)
def test_corrupted_data_fails_with_a_clear_message(project, edit, expected):
    corrupt(project, edit)
    result = project.run("validate_data.py")
    assert result.returncode == 1
    assert "credit.csv: INVALID" in result.stdout
    assert expected in result.stdout
    assert "Traceback" not in result.stdout + result.stderr


def test_unreadable_file_is_refused_before_validation(project):
    (project.root / "data" / "credit.csv").write_bytes(b"status,age\n\xff\xfe,1\n")
    result = project.run("validate_data.py")
    assert result.returncode == 2
    assert "credit.csv: not UTF-8 text" in result.stderr
    assert "Traceback" not in result.stderr
