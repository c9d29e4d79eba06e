"""Register the evaluated model and make it the champion, if and only if the gate passed; or
move the champion back to an earlier version.

Deploy refuses unless outputs/evaluation.json says the gate passed for the very run and
model files that training produced. Everything that can fail (fingerprints, loading,
predictions, the serving check) happens before the alias moves: the alias move is the commit
point, so a failure leaves the previous champion serving. The previous champion stays
reachable through the `previous_champion` alias and a tag on the new version.
"""

import getpass
import logging
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from mlflow.tracking import MlflowClient

from mlops.config import Config
from mlops.data import file_sha256, load_dataset, schema_sample
from mlops.errors import GateRejected, PipelineError, Refused
from mlops.handoff import (
    DEPLOYMENT_FILE,
    EVALUATION_FILE,
    TRAINING_FILE,
    github_output,
    github_summary,
    outputs_dir,
    read_json,
    write_json,
)
from mlops.markdown import cell
from mlops.registry import (
    PREVIOUS_CHAMPION_TAG,
    champion_version,
    directory_sha256,
    download_deployed,
    download_model,
    load_sklearn_model,
)
from mlops.report import run_location
from mlops.scoring import same_predictions, score
from mlops.serving import check_served_predictions
from mlops.splits import Split, holdout_split
from mlops.tracking import configure_tracking, deploy_lock, redact, server_ui_url, tracking_errors

log = logging.getLogger(__name__)

PREVIOUS_ALIAS = "previous_champion"
# Held-out rows the model loaded from its files must predict as evaluated.
CHECKED_ROWS = 5000
# Held-out rows the served model must answer as offline (plus one with a gap per column
# that has one): enough to show the server loads and scores the model, at a bounded cost.
SERVED_ROWS = 1000


@dataclass(frozen=True)
class Deployed:
    """deployment.json's content, or None when nothing was deployed, and the one-line outcome."""

    record: dict[str, Any] | None
    message: str


def _check_evidence(config: Config, outputs: Path, client: MlflowClient) -> dict[str, Any]:
    """evaluation.json, checked against training.json, the data file and the MLflow run."""
    training = read_json(outputs / TRAINING_FILE, "train_model.py")
    evaluation = read_json(outputs / EVALUATION_FILE, "evaluate_model.py")
    if (evaluation.get("run_id"), evaluation.get("model_uri")) != (
        training["run_id"],
        training["model_uri"],
    ):
        raise Refused(
            f"{EVALUATION_FILE} is for run {evaluation.get('run_id')}, but the last training "
            f"run is {training['run_id']}; run evaluate_model.py again"
        )
    if evaluation.get("registered_model") != config.mlflow.registered_model:
        raise Refused(
            f"{EVALUATION_FILE} is for model {evaluation.get('registered_model')!r}, the config "
            f"names {config.mlflow.registered_model!r} (mlflow.registered_model)"
        )
    if file_sha256(config.data_path) != evaluation["data_sha256"]:
        raise Refused(f"{config.data_path}: changed since evaluation; run the pipeline again")
    recorded = client.get_run(evaluation["run_id"]).data.tags.get("gate.decision")
    if evaluation.get("decision") != "passed" or recorded != "passed":
        raise GateRejected(
            "the gate did not pass for this model: "
            + "; ".join(evaluation.get("reasons") or [f"run records decision {recorded!r}"])
        )
    return evaluation


def _check_fingerprint(model_uri: str, expected_sha256: str, scratch: Path) -> Path:
    """Download the model into scratch; refuse unless its files are the evaluated ones. Files
    identical to the byte load into the same model, so a verified copy needs no second
    prediction check."""
    model_dir = download_model(model_uri, Path(tempfile.mkdtemp(dir=scratch)))
    actual_sha256 = directory_sha256(model_dir)
    if actual_sha256 != expected_sha256:
        raise Refused(
            f"{model_uri}: model files changed since evaluation "
            f"(sha256 {actual_sha256[:12]}…, evaluated {expected_sha256[:12]}…)"
        )
    return model_dir


def _check_predictions(
    model_dir: Path, model_uri: str, split: Split, expected: pd.DataFrame, config: Config
) -> None:
    """Refuse unless the model, loaded from its files, predicts held-out rows exactly as
    evaluated (up to CHECKED_ROWS of them, and one with a gap in each column that has one:
    enough to catch files that load into another model, at a bounded cost)."""
    model = load_sklearn_model(model_dir)
    rows = schema_sample(split.x_test, size=CHECKED_ROWS)
    actual = score(
        model,
        rows,
        split.y_test.loc[rows.index],
        config.data.task,
        config.data.positive_class,
        config.metrics,
    ).predictions
    if not same_predictions(expected.loc[rows.index], actual):
        raise Refused(f"{model_uri}: predictions on the held-out rows differ from evaluation")


def _existing_version(client: MlflowClient, name: str, run_id: str) -> str | None:
    """A version already registered from this run (a re-run after an interrupted deploy)."""
    versions = client.search_model_versions(f"name = '{name}' and run_id = '{run_id}'")
    return str(max(int(v.version) for v in versions)) if versions else None


def _register(client: MlflowClient, evaluation: dict[str, Any], previous: Any) -> str:
    """A registered, tagged version for the evaluated model (reused after an interrupted run)."""
    name = evaluation["registered_model"]
    version = _existing_version(client, name, evaluation["run_id"])
    if version is None:
        if not client.search_registered_models(f"name = '{name}'"):
            client.create_registered_model(name)
        # A tracking server (unlike SQLite) requires the logged model's id with a models:/ source.
        version = str(
            client.create_model_version(
                name,
                evaluation["model_uri"],
                run_id=evaluation["run_id"],
                model_id=evaluation["model_uri"].removeprefix("models:/"),
            ).version
        )
    run_tags = client.get_run(evaluation["run_id"]).data.tags
    tags = {
        "model.sha256": evaluation["model_sha256"],
        "data.sha256": evaluation["data_sha256"],
        "gate.decision": evaluation["decision"],
        "gate.reasons": "; ".join(evaluation["reasons"])[:5000],
        PREVIOUS_CHAMPION_TAG: str(previous.version) if previous else "none",
        **{f"metric.{k}": f"{v:.6f}" for k, v in evaluation["metrics"].items() if v is not None},
        **(
            {"model.decision_threshold": f"{evaluation['decision_threshold']:.6g}"}
            if evaluation.get("decision_threshold") is not None
            else {}
        ),
        **{k: v for k, v in run_tags.items() if k.startswith(("git.", "config."))},
    }
    for key, value in tags.items():
        client.set_model_version_tag(name, version, key, value)
    return version


def _summary(
    record: dict[str, Any], uri: str, serving: dict[str, Any], evaluation: dict[str, Any]
) -> str:
    name, version = record["registered_model"], record["version"]
    server = server_ui_url(uri)
    link = (
        f"\n\n[Open version {version} on the tracking server]"
        f"({server}/#/models/{name}/versions/{version})"
        if server
        else ""
    )
    run = run_location(
        record["run_id"], evaluation.get("links") or {}, evaluation.get("tracking_store"), True
    )
    return (
        "## Deploy\n"
        f"Deployed **{name}** version **{version}** as `@{record['alias']}` "
        f"(previous: {record['previous_version'] or 'none'}). {run}."
        + link
        + "\n\nServing check (MLflow's scoring server, before promotion): "
        f"{serving['rows_checked']} held-out rows served with the offline predictions; "
        f"start-up {serving['startup_seconds']} s, single-row p50 "
        f"{serving['single_row_p50_ms']} ms, p99 {serving['single_row_p99_ms']} ms."
    )


def deploy(config: Config, skip_if_rejected: bool = False, split: Split | None = None) -> Deployed:
    """Register, verify, serve-check and promote the evaluated model. `skip_if_rejected`: a
    gate rejection is reported, not raised. `split`: the held-out rows, if this process has
    them already."""
    outputs = outputs_dir(config)
    uri = configure_tracking(config)
    client = MlflowClient()
    name, alias = config.mlflow.registered_model, config.mlflow.champion_alias
    with tracking_errors(uri), tempfile.TemporaryDirectory() as scratch_dir:
        scratch = Path(scratch_dir)
        try:
            evaluation = _check_evidence(config, outputs, client)
        except GateRejected as rejection:
            if not skip_if_rejected:
                raise
            github_summary(f"## Deploy\nNot deployed: {rejection}")
            log.info(f"not deployed: {rejection}")
            return Deployed(None, f"not deployed: {rejection}")
        if split is None:
            split = holdout_split(load_dataset(config.data_path, config.data.max_file_mb), config)
        predictions_path = outputs / evaluation["predictions_file"]
        if file_sha256(predictions_path) != evaluation["predictions_sha256"]:
            raise Refused(f"{evaluation['predictions_file']}: changed since evaluation")
        expected = pd.read_csv(predictions_path, index_col="row")
        fingerprint = evaluation["model_sha256"]

        model_dir = _check_fingerprint(evaluation["model_uri"], fingerprint, scratch)
        _check_predictions(model_dir, evaluation["model_uri"], split, expected, config)
        # One deploy at a time decides who the champion is (see deploy_lock).
        with deploy_lock(config, uri):
            previous = champion_version(client, name, alias)
            if previous is not None and previous.run_id == evaluation["run_id"]:
                message = f"{name} version {previous.version} (this run) is already @{alias}"
                log.info(f"{message}; nothing to do")
                return Deployed(None, message)
            evaluated_against = (evaluation.get("champion") or {}).get("version")
            if (str(previous.version) if previous else None) != evaluated_against:
                raise Refused(
                    f"@{alias} changed to {previous.version if previous else 'none'} after this "
                    f"model was evaluated against {evaluated_against or 'no champion'}; run "
                    "evaluate_model.py again"
                )
            version = _register(client, evaluation, previous)
            registered = f"models:/{name}/{version}"
            # The registered copy is the evaluated one; it is what gets served.
            registered_dir = _check_fingerprint(registered, fingerprint, scratch)
            served = schema_sample(split.x_test, size=SERVED_ROWS)
            try:
                serving = check_served_predictions(
                    registered_dir, served, expected.loc[served.index], config.data.positive_class
                )
            except PipelineError as error:
                raise Refused(f"serving check failed: {error}") from None

            if previous is not None:
                client.set_registered_model_alias(name, PREVIOUS_ALIAS, previous.version)
            client.set_registered_model_alias(name, alias, version)  # the commit point
            try:
                _check_fingerprint(f"models:/{name}@{alias}", fingerprint, scratch)
            except Refused:
                if previous is not None:
                    client.set_registered_model_alias(name, alias, previous.version)
                else:
                    client.delete_registered_model_alias(name, alias)
                raise

    record = {
        "registered_model": name,
        "version": version,
        "alias": alias,
        "previous_version": str(previous.version) if previous else None,
        "run_id": evaluation["run_id"],
        "tracking_uri": redact(uri),
        "serving_check": serving.to_dict(),
    }
    write_json(outputs / DEPLOYMENT_FILE, record)
    github_output({"version": version, "model": name, "alias": alias})
    github_summary(_summary(record, uri, record["serving_check"], evaluation))
    message = (
        f"deployed {name} version {version} as @{alias} "
        f"(previous champion: {record['previous_version'] or 'none'})"
    )
    log.info(message)
    log.info(
        f"serving check: {serving.rows_checked} rows matched; start-up "
        f"{serving.startup_seconds} s, single-row p50 {serving.single_row_p50_ms} ms"
    )
    return Deployed(record, message)


def rollback(config: Config, to_version: str | None, reason: str) -> Deployed:
    """Point the champion alias back at an earlier version: by default the previous champion.

    Who did it and why are tagged on the version that was champion. Idempotent:
    `previous_champion` is left where it is, so a second run finds the champion
    already there and changes nothing.
    """
    uri = configure_tracking(config)
    client = MlflowClient()
    name, alias = config.mlflow.registered_model, config.mlflow.champion_alias
    with tracking_errors(uri), deploy_lock(config, uri):
        current = champion_version(client, name, alias)
        if to_version is None:
            previous = champion_version(client, name, PREVIOUS_ALIAS)
            if previous is None:
                raise Refused(f"{name} has no @{PREVIOUS_ALIAS} to roll back to; pass --to-version")
            to_version = str(previous.version)
        known = sorted(int(v.version) for v in client.search_model_versions(f"name = '{name}'"))
        if not to_version.isdigit() or int(to_version) not in known:
            raise Refused(f"{name} has no version {to_version!r} (versions: {known or 'none'})")
        if current is not None and str(current.version) == to_version:
            message = f"{name} @{alias} is already version {to_version}"
            log.info(f"{message}; nothing to do")
            github_summary(f"## Rollback\n`@{alias}` already points to version {to_version}.")
            return Deployed(None, message)
        # The same check as a deploy: the files must be the ones recorded when it was promoted.
        with tempfile.TemporaryDirectory() as scratch:
            try:
                model_dir = download_deployed(
                    client.get_model_version(name, to_version), Path(scratch)
                )
            except PipelineError as error:
                raise Refused(str(error)) from None
            load_sklearn_model(model_dir)
        client.set_registered_model_alias(name, alias, to_version)
        if current is not None:
            actor = os.environ.get("GITHUB_ACTOR") or getpass.getuser()
            rollback_tags = {"rolled_back_to": to_version, "rollback.by": actor}
            if reason:
                rollback_tags["rollback.reason"] = reason[:5000]
            for key, value in rollback_tags.items():
                client.set_model_version_tag(name, current.version, key, value)
    was = current.version if current else "none"
    message = f"rolled back {name} @{alias}: version {was} -> {to_version}"
    log.info(message)
    github_summary(
        f"## Rollback\n`{name}@{alias}` moved from version **{was}** to **{to_version}**"
        + (f": {cell(reason)}" if reason else ".")  # typed by a person: escaped
    )
    github_output({"version": to_version, "previous_version": str(was)})
    return Deployed({"version": to_version, "previous_version": str(was)}, message)
