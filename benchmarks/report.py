"""The benchmark's outputs: the text report it prints, docs/benchmark.json and docs/benchmark.md.

docs/benchmark.json keeps the latest entry of each section, {"meta": ..., "results": ...}, so a
run of some sections replaces only theirs; docs/benchmark.md is rendered from it every run.
Targets are evaluated from the results with the current code, in both files.
"""

import json
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from types import ModuleType
from typing import Any

from benchmarks.runner import Target

COMMAND = "make benchmark"
# A cell that is a figure: 1,234 / 0.52x / 12.0 s / 3.1 / 512 (a number first).
NUMBER = re.compile(r"[-+]?\d[\d,.]* ?(x|s|ms|MB)?( / [\d,.]+)?$")


@dataclass(frozen=True)
class Table:
    """Figures of a section, rendered as aligned text and as a markdown table."""

    title: str
    headers: list[str]
    rows: list[list[str]]


def yes_no(value: bool) -> str:
    return "yes" if value else "NO"


# --------------------------------------------------------------------------- text


def _numeric(rows: list[list[str]]) -> list[bool]:
    """Per column: whether it holds figures (right-aligned) rather than words."""
    columns = zip(*rows, strict=True) if rows else []
    return [all(NUMBER.match(cell) or cell == "-" for cell in column) for column in columns]


def text_table(headers: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(cell) for cell in column) for column in zip(headers, *rows, strict=True)]
    numeric = _numeric(rows) or [False] * len(headers)
    lines = [headers, ["-" * w for w in widths], *rows]
    return "\n".join(
        "  ".join(
            cell.rjust(w) if right else cell.ljust(w)
            for cell, w, right in zip(line, widths, numeric, strict=True)
        ).rstrip()
        for line in lines
    )


def _target_rows(targets: list[tuple[str, Target]]) -> list[list[str]]:
    return [
        [
            section,
            t.name,
            "-" if t.value is None else f"{t.value:.2f} {t.unit}",
            t.bound,
            t.verdict,
        ]
        for section, t in targets
    ]


def all_targets(
    sections: dict[str, ModuleType], results: dict[str, dict[str, Any]]
) -> list[tuple[str, Target]]:
    """(section, target) for every section's targets; a section without results: not run."""
    return [
        (name, t) for name, module in sections.items() for t in module.targets(results.get(name))
    ]


def text_report(
    sections: dict[str, ModuleType], entries: dict[str, dict[str, Any]], memory_method: str
) -> str:
    """What a run prints: each section it ran, then every target (not run: the others)."""
    parts = [f"Benchmark (peak memory: {memory_method})"]
    for number, (name, module) in enumerate(sections.items(), 1):
        if name not in entries:
            continue
        meta = entries[name]["meta"]
        parts += [
            "",
            f"{number}. {module.TITLE} [{name}] (median of {meta['repeats']} run(s); load "
            f"average {meta['load_before']:.1f} before, {meta['load_after']:.1f} after)",
        ]
        for table in module.tables(entries[name]["results"]):
            parts += ["", table.title, text_table(table.headers, table.rows)]
    results = {name: entry["results"] for name, entry in entries.items()}
    rows = _target_rows(all_targets(sections, results))
    headers = ["section", "target", "value", "limit", "result"]
    parts += ["", "Targets", text_table(headers, rows)]
    return "\n".join(parts)


# --------------------------------------------------------------------------- markdown


def _cell(value: Any) -> str:
    return str(value).replace("|", "\\|").replace("\n", " ")


def markdown_table(headers: list[str], rows: list[list[str]]) -> str:
    numeric = _numeric(rows) or [False] * len(headers)
    lines = [
        "| " + " | ".join(_cell(h) for h in headers) + " |",
        "|" + "|".join("--:" if right else "---" for right in numeric) + "|",
    ]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def _machine_label(meta: dict[str, Any]) -> str:
    m = meta["machine"]
    memory = f", {m['memory_gb']:g} GB" if m.get("memory_gb") else ""
    return f"{m.get('cpu_model') or 'unknown CPU'}, {m['cpu_count']} CPUs{memory}"


def _machines(entries: dict[str, dict[str, Any]]) -> str:
    machines: dict[str, list[str]] = {}
    software: dict[str, dict[str, Any]] = {}
    for name, entry in entries.items():
        label = _machine_label(entry["meta"])
        machines.setdefault(label, []).append(f"`{name}`")
        software[label] = entry["meta"]["machine"]
    packages = sorted({p for m in software.values() for p in m["packages"]})
    headers = ["machine", "Python", *packages, "sections"]
    rows = [
        [
            label,
            software[label]["python"],
            *(software[label]["packages"].get(p, "-") for p in packages),
            ", ".join(names),
        ]
        for label, names in machines.items()
    ]
    return markdown_table(headers, rows)


def _measured(module: ModuleType, meta: dict[str, Any]) -> str:
    commit = meta.get("git_commit")
    at = f"commit `{commit[:10]}`" if commit else "an unknown commit"
    if meta.get("git_dirty"):
        at += " with uncommitted changes"
    memory = f"; peak memory: {meta['memory_method']}" if module.PEAK_MEMORY else ""
    date = datetime.fromisoformat(meta["date"]).strftime("%Y-%m-%d %H:%M UTC")
    return (
        f"Measured {date} at {at}, in {meta['seconds']:.0f} s; median of "
        f"{meta['repeats']} run(s); load average {meta['load_before']:.1f} before, "
        f"{meta['load_after']:.1f} after{memory}."
    )


def markdown_report(sections: dict[str, ModuleType], document: dict[str, Any]) -> str:
    """docs/benchmark.md from docs/benchmark.json's content."""
    entries = document.get("sections", {})
    names = ", ".join(f"`{name}`" for name in sections)
    parts = [
        "# Benchmark",
        "",
        f"Generated by `{COMMAND}` from `docs/benchmark.json`: do not edit by hand.",
        "",
        "What the pipeline costs beyond the model itself, and the targets it is held to. Run "
        f"every section with `{COMMAND}` (it takes a long while and loads the machine), or "
        f'choose some: `{COMMAND} BENCHMARK_ARGS="--sections gate,charts --repeats 3"` '
        "(also `--sizes bundled,100k,1m`, `--requests`, `--batches`). A run replaces the "
        "entries of the sections it ran, here and in `docs/benchmark.json`, and keeps the "
        "others; its full results, every repeat included, are in "
        f"`benchmarks/results/latest.json` (git-ignored). Sections: {names}. Figures are "
        "medians over repeats, each in a fresh process unless the section says otherwise.",
        "",
        "## Machines",
        "",
        _machines(entries) if entries else "No section has been measured yet.",
    ]
    for name, module in sections.items():
        parts += ["", f"## {module.TITLE} (`{name}`)", "", module.ABOUT]
        entry = entries.get(name)
        if entry is None:
            parts += [
                "",
                f'Not measured yet: `{COMMAND} BENCHMARK_ARGS="--sections {name}"`.',
            ]
            continue
        parts += ["", _measured(module, entry["meta"])]
        try:
            tables = module.tables(entry["results"])
        except (KeyError, TypeError, IndexError):
            # Stored by an earlier version of the section, whose figures this one names otherwise.
            tables = []
            parts += ["", "These results predate the section's current tables; run it again."]
        for table in tables:
            parts += ["", f"**{table.title}**", "", markdown_table(table.headers, table.rows)]
        targets = module.targets(entry["results"])
        if targets:
            rows = [row[1:] for row in _target_rows([(name, t) for t in targets])]
            parts += [
                "",
                "Targets:",
                "",
                markdown_table(["target", "value", "limit", "result"], rows),
            ]
    results = {name: entry["results"] for name, entry in entries.items()}
    rows = _target_rows(all_targets(sections, results))
    parts += [
        "",
        "## Targets",
        "",
        markdown_table(["section", "target", "value", "limit", "result"], rows),
    ]
    return "\n".join(parts) + "\n"


# --------------------------------------------------------------------------- files


def for_docs(data: Any) -> Any:
    """An entry as docs/benchmark.json keeps it: without the per-repeat detail ("runs"),
    numbers to 6 significant digits (the noise is in the second)."""
    if isinstance(data, dict):
        return {k: for_docs(v) for k, v in data.items() if k != "runs"}
    if isinstance(data, list):
        return [for_docs(v) for v in data]
    if isinstance(data, float):
        return float(f"{data:.6g}")
    return data


def merge(
    sections: dict[str, ModuleType], existing: dict[str, Any], entries: dict[str, dict[str, Any]]
) -> dict[str, Any]:
    """`existing` (docs/benchmark.json's content) with these sections' entries replacing
    theirs; in the sections' order, without sections the benchmark no longer has."""
    merged = {**existing.get("sections", {}), **entries}
    kept = {name: merged[name] for name in sections if name in merged}
    results = {name: entry["results"] for name, entry in kept.items()}
    return {
        "generated_by": COMMAND,
        "sections": kept,
        "targets": [{"section": name, **t.to_dict()} for name, t in all_targets(sections, results)],
    }


def read_document(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    return json.loads(path.read_text(encoding="utf-8"))


def update_docs(
    sections: dict[str, ModuleType],
    entries: dict[str, dict[str, Any]],
    json_path: Path,
    markdown_path: Path,
) -> dict[str, Any]:
    """Merge these entries into json_path and render markdown_path from the result."""
    trimmed = {name: for_docs(entry) for name, entry in entries.items()}
    document = merge(sections, read_document(json_path), trimmed)
    json_path.parent.mkdir(parents=True, exist_ok=True)
    json_path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    markdown_path.write_text(markdown_report(sections, document), encoding="utf-8")
    return document
