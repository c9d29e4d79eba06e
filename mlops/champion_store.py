"""The champion and the registry history kept in GitHub Releases, for projects with no server.

With no tracking server every workflow run starts from an empty embedded store; artifacts
expire and caches are evicted, so neither can hold a champion. Releases persist, need no
account beyond the repository, and show the history in GitHub's UI. Tags start with the
registered model's name:

- `<model>-v<N>`, one per deployed version: model.tar.gz (the model files as registered) and
  manifest.json (fingerprint, the metrics it was promoted with, config and data digests).
- `<model>-champion`, the pointer: champion.json (the champion's manifest, the store asset it
  lives in, every deploy and rollback with who and why) and store-<sha>.tar.gz, the embedded
  MLflow store itself (registry, runs, models), so a restored store numbers versions on.

Restore checks the store's digest and the champion's model fingerprint and refuses a
mismatch. Publish refuses when the pointer moved since this run restored it (another deploy
or rollback won the race): no champion is lost and no version tag is written twice.
"""

import contextlib
import hashlib
import json
import os
import shutil
import sqlite3
import tarfile
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import mlflow
from mlflow.tracking import MlflowClient

from mlops.config import Config
from mlops.errors import PipelineError
from mlops.github_releases import Releases
from mlops.handoff import github_run_url, outputs_dir, write_json
from mlops.registry import champion_version, directory_sha256, download_model
from mlops.tracking import (
    EMBEDDED_ARTIFACTS,
    EMBEDDED_STORE,
    embedded_tracking_uri,
    relocate_embedded_store,
    tracking_errors,
)

POINTER_FILE = "champion.json"
MANIFEST_FILE = "manifest.json"
MODEL_ARCHIVE = "model.tar.gz"
RESTORED_FILE = "champion_store.json"  # in outputs/: what this run restored, for publish
POINTER_KEYS = ("champion", "store_asset", "store_sha256", "history")


def pointer_tag(config: Config) -> str:
    return f"{config.mlflow.registered_model}-champion"


def version_tag(config: Config, version: str) -> str:
    return f"{config.mlflow.registered_model}-v{version}"


def sha256_bytes(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def server_configured() -> bool:
    """A tracking server is the source of truth when MLFLOW_TRACKING_URI is set."""
    return bool(os.environ.get("MLFLOW_TRACKING_URI"))


@dataclass(frozen=True)
class Restored:
    version: str | None  # None: nothing published yet
    pointer_sha256: str | None
    message: str


def _pack_store(root: Path, archive: Path) -> None:
    """mlflow.db (a consistent copy, even mid-write) and mlartifacts/ as one tar.gz."""
    with tempfile.TemporaryDirectory() as scratch:
        copy = Path(scratch) / EMBEDDED_STORE
        with (
            contextlib.closing(sqlite3.connect(root / EMBEDDED_STORE)) as source,
            contextlib.closing(sqlite3.connect(copy)) as target,
        ):
            source.backup(target)
        with tarfile.open(archive, "w:gz") as tar:
            tar.add(copy, arcname=EMBEDDED_STORE)
            if (root / EMBEDDED_ARTIFACTS).is_dir():
                tar.add(root / EMBEDDED_ARTIFACTS, arcname=EMBEDDED_ARTIFACTS)


def _unpack(archive: Path, destination: Path) -> None:
    """Extract with tarfile's `data` filter: no absolute paths, links out or devices."""
    try:
        with tarfile.open(archive, "r:gz") as tar:
            tar.extractall(destination, filter="data")
    except (tarfile.TarError, OSError) as error:
        raise PipelineError(f"{archive.name}: cannot be extracted: {error}") from None


def _read_pointer(releases: Releases, tag: str, scratch: Path) -> tuple[dict | None, str | None]:
    """(champion.json, its sha256), or (None, None) when nothing has been published."""
    assets = releases.assets(tag)
    if assets is None or POINTER_FILE not in assets:
        return None, None
    content = releases.download(tag, POINTER_FILE, scratch).read_bytes()
    try:
        pointer = json.loads(content)
        missing = [k for k in POINTER_KEYS if k not in pointer] + [
            f"champion.{k}" for k in ("version", "model_sha256") if k not in pointer["champion"]
        ]
    except (json.JSONDecodeError, KeyError, TypeError) as error:
        raise PipelineError(f"release {tag}: {POINTER_FILE} is unreadable: {error}") from None
    if missing:
        raise PipelineError(f"release {tag}: {POINTER_FILE} lacks {missing}; was it edited?")
    return pointer, sha256_bytes(content)


def _check_champion(config: Config, root: Path, expected: dict[str, Any], source: str) -> None:
    """The store in `root` has the expected version as champion, with the recorded files."""
    mlflow.set_tracking_uri(embedded_tracking_uri(root))  # models:/ URIs resolve through it
    client = MlflowClient(embedded_tracking_uri(root))
    name, alias = config.mlflow.registered_model, config.mlflow.champion_alias
    champion = champion_version(client, name, alias)
    if champion is None or str(champion.version) != str(expected["version"]):
        found = champion.version if champion else "none"
        raise PipelineError(
            f"{source}: @{alias} is version {found} in the store, but {POINTER_FILE} names "
            f"version {expected['version']}; refusing a store that does not match its pointer"
        )
    with tempfile.TemporaryDirectory() as scratch:
        model_dir = download_model(f"models:/{name}/{champion.version}", Path(scratch))
        actual = directory_sha256(model_dir)
    if actual != expected["model_sha256"]:
        raise PipelineError(
            f"{source}: the files of {name} version {champion.version} do not match the "
            f"fingerprint in {POINTER_FILE} (sha256 {actual[:12]}…, recorded "
            f"{expected['model_sha256'][:12]}…); refusing to compare with or serve them"
        )


def restore(config: Config, releases: Releases, force: bool = False) -> Restored:
    """Bring the published champion's store into config.root, checked, before training."""
    root = config.root
    if (root / EMBEDDED_STORE).exists() and not force:
        raise PipelineError(
            f"{root / EMBEDDED_STORE}: a local store exists; restoring would replace it "
            "(move it away, or FORCE=1 / --force)"
        )
    tag = pointer_tag(config)
    with tempfile.TemporaryDirectory() as scratch_name:
        scratch = Path(scratch_name)
        pointer, pointer_sha256 = _read_pointer(releases, tag, scratch)
        if pointer is None:
            restored = Restored(None, None, f"no champion published yet (release {tag})")
        else:
            archive = releases.download(tag, pointer["store_asset"], scratch)
            actual = sha256_bytes(archive.read_bytes())
            if actual != pointer["store_sha256"]:
                raise PipelineError(
                    f"release {tag}: {pointer['store_asset']} has sha256 {actual[:12]}…, "
                    f"{POINTER_FILE} records {pointer['store_sha256'][:12]}…; refusing it"
                )
            # Checked where it was unpacked; only a store that passes replaces the local one.
            unpacked = scratch / "store"
            _unpack(archive, unpacked)
            relocate_embedded_store(unpacked, config.mlflow.experiment)
            with tracking_errors(embedded_tracking_uri(unpacked)):
                _check_champion(config, unpacked, pointer["champion"], f"release {tag}")
            for name in (EMBEDDED_STORE, EMBEDDED_ARTIFACTS):
                target = root / name
                if target.is_dir():
                    shutil.rmtree(target)
                elif target.exists():
                    target.unlink()
                if (unpacked / name).exists():
                    shutil.move(unpacked / name, target)
            relocate_embedded_store(root, config.mlflow.experiment)
            champion = pointer["champion"]
            restored = Restored(
                str(champion["version"]),
                pointer_sha256,
                f"restored {config.mlflow.registered_model} version {champion['version']} "
                f"as @{config.mlflow.champion_alias} from release {tag} "
                f"({len(pointer.get('history', []))} recorded deploys and rollbacks)",
            )
    write_json(
        outputs_dir(config) / RESTORED_FILE,
        {"tag": tag, "version": restored.version, "pointer_sha256": restored.pointer_sha256},
    )
    return restored


def version_manifest(config: Config, client: MlflowClient, version: str) -> dict[str, Any]:
    """What a deployed version is, from the tags deploy_model.py recorded on it."""
    name = config.mlflow.registered_model
    model_version = client.get_model_version(name, version)
    tags = model_version.tags
    if "model.sha256" not in tags:
        raise PipelineError(f"{name} version {version} has no model.sha256 tag: not deployed")
    return {
        "registered_model": name,
        "version": str(version),
        "run_id": model_version.run_id,
        "model_sha256": tags["model.sha256"],
        "data_sha256": tags.get("data.sha256"),
        "config_sha256": tags.get("config.sha256"),
        "git_commit": tags.get("git.commit"),
        "metrics": {
            k.removeprefix("metric."): float(v) for k, v in tags.items() if k.startswith("metric.")
        },
    }


def _tar_directory(directory: Path, archive: Path) -> None:
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(directory, arcname="model")


def publish(config: Config, releases: Releases, event: str, actor: str, reason: str) -> str:
    """Store the local champion (after a deploy or rollback) as the published one.

    Returns a one-line account of what was published.
    """
    outputs = outputs_dir(config)
    restored_path = outputs / RESTORED_FILE
    if not restored_path.is_file():
        raise PipelineError(
            f"{restored_path}: not found; publish only a store that `champion_store.py restore` "
            "(make restore-champion) brought in, so a concurrent deploy cannot be overwritten"
        )
    restored = json.loads(restored_path.read_text())
    tag = pointer_tag(config)
    name, alias = config.mlflow.registered_model, config.mlflow.champion_alias

    with tempfile.TemporaryDirectory() as scratch_name:
        scratch = Path(scratch_name)
        pointer, pointer_sha256 = _read_pointer(releases, tag, scratch / "pointer")
        if pointer_sha256 != restored["pointer_sha256"]:
            now = pointer["champion"]["version"] if pointer else "none"
            raise PipelineError(
                f"release {tag} changed since this run restored it (champion now version "
                f"{now}, restored {restored['version'] or 'none'}): another deploy or rollback "
                "finished first; run the pipeline again to compare with the new champion"
            )
        mlflow.set_tracking_uri(embedded_tracking_uri(config.root))
        client = MlflowClient(embedded_tracking_uri(config.root))
        with tracking_errors(embedded_tracking_uri(config.root)):
            champion = champion_version(client, name, alias)
        if champion is None:
            raise PipelineError(f"{name} has no @{alias} in the local store: nothing to publish")
        version = str(champion.version)
        previous = pointer["champion"]["version"] if pointer else None
        if previous == version:
            return f"{name} version {version} is already the published champion; nothing to do"

        if releases.assets(version_tag(config, version)) is None:
            if event != "deploy":
                raise PipelineError(
                    f"release {version_tag(config, version)} not found: version {version} was "
                    "never published, so it cannot be made champion from the release store"
                )
            manifest = version_manifest(config, client, version) | {
                "deployed_at": datetime.now(UTC).isoformat(timespec="seconds"),
                "deployed_by": actor,
                "run_url": github_run_url(),
            }
            model_dir = download_model(f"models:/{name}/{version}", scratch / "model")
            if directory_sha256(model_dir) != manifest["model_sha256"]:
                raise PipelineError(f"{name} version {version}: files differ from model.sha256")
            _tar_directory(model_dir, scratch / MODEL_ARCHIVE)
            (scratch / MANIFEST_FILE).write_text(json.dumps(manifest, indent=2) + "\n")
            releases.create(
                version_tag(config, version),
                [scratch / MODEL_ARCHIVE, scratch / MANIFEST_FILE],
                title=f"{name} version {version}",
                notes=_release_notes(manifest),
                target=os.environ.get("GITHUB_SHA") or manifest.get("git_commit"),
            )
        else:
            manifest_path = releases.download(
                version_tag(config, version), MANIFEST_FILE, scratch / "manifest"
            )
            manifest = json.loads(manifest_path.read_text())

        store = scratch / "store.tar.gz"
        _pack_store(config.root, store)
        store_sha256 = sha256_bytes(store.read_bytes())
        store_asset = f"store-{store_sha256[:16]}.tar.gz"
        store.rename(scratch / store_asset)
        history = list(pointer.get("history", [])) if pointer else []
        history.append(
            {
                "event": event,
                "version": version,
                "from_version": previous,
                "actor": actor,
                "reason": reason,
                "at": datetime.now(UTC).isoformat(timespec="seconds"),
                "run_url": github_run_url(),
            }
        )
        new_pointer = {
            "registered_model": name,
            "alias": alias,
            "champion": manifest,
            "store_asset": store_asset,
            "store_sha256": store_sha256,
            "history": history,
        }
        (scratch / POINTER_FILE).write_text(json.dumps(new_pointer, indent=2) + "\n")
        if pointer is None:
            releases.create(
                tag,
                [scratch / store_asset, scratch / POINTER_FILE],
                title=f"{name}: current champion",
                notes=POINTER_NOTES,
                target=os.environ.get("GITHUB_SHA"),
            )
        else:
            # The store first, then the pointer: a reader sees the old or the new pair, whole.
            releases.upload(tag, [scratch / store_asset])
            releases.upload(tag, [scratch / POINTER_FILE])
            for stale in set(releases.assets(tag) or []) - {store_asset, POINTER_FILE}:
                releases.delete_asset(tag, stale)
    return (
        f"published {name} version {version} as champion in release {tag} "
        f"({event}; previous: {previous or 'none'})"
    )


POINTER_NOTES = (
    "Written by the pipeline: champion.json names the current champion and lists every deploy "
    "and rollback; the store archive is the MLflow store (registry, runs, models) the next run "
    "restores. Do not edit by hand: roll back with the rollback workflow."
)


def _release_notes(manifest: dict[str, Any]) -> str:
    metrics = ", ".join(f"{k} {v:.4f}" for k, v in sorted(manifest["metrics"].items()))
    return (
        f"Deployed by {manifest['deployed_by']} · metrics at promotion: {metrics or 'none'} · "
        f"model sha256 {manifest['model_sha256']} · data sha256 {manifest['data_sha256']}"
    )
