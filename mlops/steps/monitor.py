"""Compare a batch of new data with what the champion was trained on (mlops/drift.py).

Reads the batch (a path, the newest file matching a glob, or an http(s) URL), scores it with
the champion, compares every feature and the predictions with the reference profile stored
among the champion's files, and writes outputs/drift.json, outputs/drift.md and a plot per
drifted feature in outputs/drift/. Drift is a finding, not an error.
"""

import glob
import json
import logging
import shutil
import tempfile
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
from mlflow.tracking import MlflowClient

from mlops.config import Config
from mlops.data import load_dataset
from mlops.drift import PROFILE_FILE, category_labels, compare
from mlops.drift_alert import drifted_outputs
from mlops.errors import PipelineError
from mlops.handoff import (
    github_output,
    github_run_url,
    github_summary,
    outputs_dir,
    shown_path,
    write_json,
)
from mlops.markdown import Table, cell, some
from mlops.registry import champion_version, download_deployed, load_sklearn_model
from mlops.scoring import model_inputs, prediction_scores
from mlops.splits import parse_times
from mlops.tracking import configure_tracking, tracking_errors

log = logging.getLogger(__name__)

DRIFT_FILE = "drift.json"
DRIFT_REPORT = "drift.md"
PLOTS_DIR = "drift"
DOWNLOAD_TIMEOUT_SECONDS = 120


@dataclass(frozen=True)
class Monitored:
    result: dict[str, Any]  # what drift.json holds
    report: str  # drift.md

    @property
    def drifted(self) -> bool:
        return self.result["drifted"]


def batch_source(config: Config, data: str | None) -> str:
    """The batch to monitor: `data`, else monitoring.data; "{date}" filled with today's date."""
    source = data or config.monitoring.data
    if not source:
        raise PipelineError(
            f"{config.file.name}: monitoring.data: no batch to monitor; set it to a path, glob "
            "or URL, or pass one (make monitor DATA=path/to/batch.csv)"
        )
    return source.replace("{date}", datetime.now(UTC).strftime("%Y-%m-%d"))


def not_configured(config: Config) -> None:
    """Say, in the log and the job summary, that there is no batch to monitor yet."""
    message = (
        f"Drift monitoring is not configured: set monitoring.data in {config.file.name} to "
        "the path, glob or URL of your new data (docs/monitoring.md)."
    )
    github_summary(f"## Drift\n{message}")
    github_output({"drifted": "false", "drifted_features": "", "on_drift": "report"})
    log.info(message)


def fetch_batch(config: Config, source: str, scratch: Path) -> tuple[Path, str]:
    """A local file for the source and how to name it in reports: a URL is downloaded (up to
    data.max_file_mb), a glob gives its newest match by name."""
    if source.startswith(("http://", "https://")):
        limit = int(config.data.max_file_mb * 1e6)
        target = scratch / "batch.csv"
        try:
            with urllib.request.urlopen(source, timeout=DOWNLOAD_TIMEOUT_SECONDS) as response:
                with target.open("wb") as handle:
                    while chunk := response.read(1 << 20):
                        if handle.tell() + len(chunk) > limit:  # stop, not after the whole file
                            raise PipelineError(
                                f"{source}: larger than data.max_file_mb "
                                f"({config.data.max_file_mb:g} MB)"
                            )
                        handle.write(chunk)
        except (OSError, ValueError) as error:
            raise PipelineError(f"{source}: could not be downloaded: {error}") from None
        return target, source
    path = config.root / source
    if glob.has_magic(source):
        matches = sorted(glob.glob(str(path)))
        if not matches:
            raise PipelineError(f"{source}: no file matches (relative to {config.root})")
        path = Path(matches[-1])
    return path, str(path.relative_to(config.root) if path.is_relative_to(config.root) else path)


def _champion(config: Config, client: MlflowClient, scratch: Path) -> tuple[Any, Path, dict]:
    """The champion version, its verified files and its reference profile."""
    name, alias = config.mlflow.registered_model, config.mlflow.champion_alias
    version = champion_version(client, name, alias)
    if version is None:
        raise PipelineError(
            f"{name} has no @{alias} yet: nothing to monitor; run the pipeline first (on "
            "GitHub, the champion comes from the release store: make restore-champion)"
        )
    model_dir = download_deployed(version, scratch / "model")
    profile_path = model_dir / PROFILE_FILE
    if not profile_path.is_file():
        raise PipelineError(
            f"{name} version {version.version} has no {PROFILE_FILE} (trained before drift "
            "monitoring existed): deploy a model trained with this version of the template"
        )
    return version, model_dir, json.loads(profile_path.read_text(encoding="utf-8"))


def _headline(result: dict[str, Any], markdown: bool = True) -> str:
    drifted = result["drifted_features"]
    total = len(result["features"])
    target = result.get("target")
    outputs = drifted_outputs(result)
    also = "".join(f" and in {words}" for words in outputs)

    def strong(text: str) -> str:
        return f"**{text}**" if markdown else text

    if drifted:
        names = some(drifted, 5, lambda name: f"`{cell(name)}`" if markdown else name)
        return f"⚠️ {strong(f'Drift in {len(drifted)} of {total} features')} ({names}){also}."
    if outputs:
        moved = " and ".join(outputs)
        return f"⚠️ {strong(f'Drift in {moved}')}; none of the {total} features drifted on its own."
    watched = "the predictions or the target's classes" if target else "or the predictions"
    return f"✅ {strong('No drift')} in the {total} features{',' if target else ''} {watched}."


def _measure(value: dict | None, key: str, digits: str = ".3f") -> str:
    return "–" if not value else format(value[key], digits)


def _cells(item: dict[str, Any]) -> list[str | None]:
    test = item.get("test")
    missing = item["missing"]
    unseen = item.get("unseen")
    return [
        item["name"],
        item["kind"],
        "⚠️ yes" if item["drifted"] else "no",
        _measure(item.get("psi"), "value"),
        "–" if not test else f"{test['effect']:.3f} (p = {test['p_value']:.2g})",
        "–" if not unseen else format(unseen["share"], ".1%"),
        f"{missing['reference']:.1%} → {missing['current']:.1%}",
        "; ".join(item["reasons"]) or "–",
    ]


def drift_table(result: dict[str, Any]) -> Table:
    """Every feature, most severe first, then the predictions and (labelled batches) the
    target."""
    items = [*result["features"], result["prediction"], *filter(None, [result.get("target")])]
    header = ["feature", "kind", "drifted", "PSI", "effect (KS D / Cramér's V)", "unseen"]
    return Table([*header, "missing", "why"], [_cells(item) for item in items])


def _batch_line(result: dict[str, Any], markdown: bool) -> str:
    """The batch, the reference it is compared with, and what counts as drift."""
    champion, settings = result["champion"], result["settings"]
    periods = result.get("periods") or {}

    def period(name: str) -> str:
        found = periods.get(name)
        if not found:
            return ""
        column = cell(periods["column"], code=True) if markdown else periods["column"]
        first, last = (str(found[end]) for end in ("first", "last"))
        if markdown:
            first, last = cell(first), cell(last)
        return f" ({first} to {last} by {column})"

    return (
        f"Batch: {result['rows']:,} rows{period('batch')} · reference: "
        f"{result['reference_rows']:,} training rows of version {champion['version']}"
        f"{period('training')} · drift when PSI ≥ {settings['psi_threshold']:g}, "
        f"a test at p < {settings['test_alpha']:g} with effect ≥ {settings['min_effect']:g}, "
        f"unseen categories ≥ {settings['unseen_threshold']:.0%} of rows, or missing values "
        f"moved by ≥ {settings['missing_threshold']:.0%} of rows"
    )


def _next_step(result: dict[str, Any], where: str, markdown: bool) -> str:
    if result["drifted"]:
        label = "**Next:**" if markdown else "Next:"
        return (
            f"{label} look at the plots of the drifted features in {where}. If the data is "
            "wrong (a broken export, a unit change), fix it at its source; if the world "
            "changed, add recent rows to the training data and retrain (the pipeline compares "
            "the new model with this champion before it ships)."
        )
    return f"Full figures in {where}."


def drift_markdown(result: dict[str, Any], run_url: str | None = None) -> str:
    """The job summary: the finding first, then every feature, most severe first."""
    champion = result["champion"]
    lines = [
        f"## Drift: `{cell(champion['name'])}` v{champion['version']} on "
        f"{cell(result['data'], code=True)}",
        _headline(result),
        "",
        _batch_line(result, markdown=True),
    ]
    if result["new_columns"]:
        names = ", ".join(cell(name, code=True) for name in result["new_columns"][:20])
        lines += ["", f"Columns the training data did not have (not used by the model): {names}"]
    where = f"the `drift` artifact of [this run]({run_url}#artifacts)" if run_url else "outputs/"
    lines += ["", drift_table(result).markdown(), "", _next_step(result, where, markdown=True)]
    return "\n".join(lines)


def drift_text(result: dict[str, Any], plots: list[Path], report: Path) -> str:
    """What a terminal shows: the finding, the table as aligned text, the next step and the
    paths of the plots and of the markdown report."""
    champion = result["champion"]
    lines = [
        f"Drift: {champion['name']} v{champion['version']} on {result['data']}",
        _headline(result, markdown=False),
        "",
        _batch_line(result, markdown=False),
    ]
    if result["new_columns"]:
        names = ", ".join(result["new_columns"][:20])
        lines += ["", f"Columns the training data did not have (not used by the model): {names}"]
    lines += ["", drift_table(result).text(), ""]
    if result["drifted"]:
        where = shown_path(report.parent / PLOTS_DIR) + "/"
        lines.append(_next_step(result, where, markdown=False))
    if plots:
        lines.append("plots (PNG): " + ", ".join(shown_path(path) for path in plots))
    lines.append(f"report for GitHub (markdown): {shown_path(report)}")
    return "\n".join(lines)


def _plot(
    item: dict[str, Any], reference: dict[str, Any], values: pd.Series, folder: Path
) -> Path | None:
    """Reference against current shares per bin (numbers) or per category, as a PNG; None
    when training had no value to draw bins from."""
    import matplotlib

    matplotlib.use("Agg")  # no display in CI
    import matplotlib.pyplot as plt
    import numpy as np

    if item["kind"] == "numeric":
        if not reference["edges"]:  # no value in training to draw bins from
            return None
        edges = np.asarray(reference["edges"])
        numbers = pd.to_numeric(values, errors="coerce").dropna().to_numpy()
        # Bin i holds values below edge i (an edge value counts in the bin above it).
        counts = np.bincount(np.searchsorted(edges, numbers, "right"), minlength=len(edges) + 1)
        labels = [*(f"< {edge:.3g}" for edge in edges), f"≥ {edges[-1]:.3g}"]
        ref_shares = reference["shares"]
        cur_shares = counts / max(len(numbers), 1)
    else:
        known = list(reference["counts"])[:15]
        total = sum(reference["counts"].values())
        present = category_labels(values)
        labels = [*known, "other / unseen"]
        ref_shares = [reference["counts"][k] / total for k in known]
        ref_shares.append(1 - sum(ref_shares))
        cur_shares = [float((present == k).mean()) if len(present) else 0.0 for k in known]
        cur_shares.append(1 - sum(cur_shares))
    figure, axes = plt.subplots(figsize=(7, 4))
    positions = np.arange(len(labels))
    axes.bar(positions - 0.2, ref_shares, 0.4, label="training (reference)", color="#9ca3af")
    axes.bar(positions + 0.2, cur_shares, 0.4, label="new batch", color="#2563eb")
    axes.set_xticks(positions, labels, rotation=40, ha="right")
    axes.set(
        title=f"{item['name']}: {'; '.join(item['reasons'])[:80]}",
        xlabel="training deciles" if item["kind"] == "numeric" else "category",
        ylabel="share of rows",
    )
    axes.legend()
    figure.tight_layout()
    path = folder / f"{''.join(c if c.isalnum() else '_' for c in item['name'])}.png"
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return path


def _periods(split: dict[str, Any] | None, batch: pd.DataFrame) -> dict[str, Any] | None:
    """For a champion trained on a time-ordered split: the training period its reference
    comes from, and the batch's own period where the batch has the time column."""
    if not split or split["rule"] != "time":
        return None
    column = split["column"]
    periods = {"column": column, "training": split["training"], "batch": None}
    if column in batch.columns:
        try:
            times = parse_times(batch[column]).dropna()
        except ValueError:  # the batch's times are not the model's concern: no period shown
            times = None
        if times is not None and not times.empty:
            raw = batch[column]
            periods["batch"] = {"first": str(raw[times.idxmin()]), "last": str(raw[times.idxmax()])}
    return periods


def monitor(config: Config, data: str | None = None) -> Monitored:
    """Compare the batch (`data`, else monitoring.data) with the champion's training data."""
    source = batch_source(config, data)
    uri = configure_tracking(config)
    with tempfile.TemporaryDirectory() as scratch_dir, tracking_errors(uri):
        scratch = Path(scratch_dir)
        path, shown = fetch_batch(config, source, scratch)
        batch = load_dataset(path, config.data.max_file_mb)
        version, model_dir, reference = _champion(config, MlflowClient(), scratch)
        inputs = model_inputs(batch, model_dir, shown)
        absent = [name for name in reference["features"] if name not in inputs.columns]
        if absent:
            raise PipelineError(f"{shown}: missing column(s) the champion was trained on: {absent}")
        model = load_sklearn_model(model_dir)
    predictions = prediction_scores(
        model, inputs, reference["task"], reference.get("positive_class")
    )
    # A batch labelled after the fact: its classes are compared too.
    target = (reference.get("target") or {}).get("name")
    labels = batch[target] if target in batch.columns else None
    result = compare(
        reference, inputs, list(batch.columns), predictions, config.monitoring.settings(), labels
    )
    result = {
        "champion": {
            "name": config.mlflow.registered_model,
            "version": str(version.version),
            "run_id": version.run_id,
        },
        "data": shown,
        "settings": vars(config.monitoring.settings()),
        "periods": _periods(reference.get("split"), batch),
        **result,
    }
    outputs = outputs_dir(config)
    folder = outputs / PLOTS_DIR
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir()
    drawn = [
        _plot(item, reference["features"][item["name"]], inputs[item["name"]], folder)
        for item in result["features"]
        if item["drifted"]
    ]
    if result["prediction"]["drifted"]:
        drawn.append(_plot(result["prediction"], reference["prediction"], predictions, folder))
    if result["target"] and result["target"]["drifted"]:
        drawn.append(_plot(result["target"], reference["target"], labels, folder))
    report = drift_markdown(result, github_run_url())
    write_json(outputs / DRIFT_FILE, result)
    (outputs / DRIFT_REPORT).write_text(report + "\n", encoding="utf-8")
    github_summary(report)
    github_output(
        {
            "drifted": str(result["drifted"]).lower(),
            "drifted_features": ",".join(result["drifted_features"]),
            "on_drift": config.monitoring.on_drift,
        }
    )
    plots = [path for path in drawn if path is not None]
    log.info(drift_text(result, plots, outputs / DRIFT_REPORT))
    return Monitored(result, report)
