"""Copy the files matched by the upload-artifact inputs into $ACT_SHIM_ARTIFACTS_DIR/<name>/."""

import fcntl
import glob
import hashlib
import json
import os
import shutil
import sys
from pathlib import Path

GLOB_CHARS = set("*?[")
FORBIDDEN_NAME_CHARS = set('":<>|*?\r\n\\/')
MAX_RETENTION_DAYS = 90


def fail(message: str) -> None:
    print(f"::error title=upload-artifact shim::{message}")
    sys.exit(1)


def parse_int(name: str, low: int, high: int | None = None) -> int:
    raw = os.environ[name].strip()
    if not raw.isdigit() or int(raw) < low or (high is not None and int(raw) > high):
        fail(f"invalid {name.removeprefix('INPUT_').lower().replace('_', '-')}: {raw!r}")
    return int(raw)


def search_path(pattern: str) -> Path:
    """The part of a pattern before its first wildcard segment."""
    parts = []
    for part in Path(pattern).parts:
        if GLOB_CHARS & set(part):
            break
        parts.append(part)
    return Path(*parts) if parts else Path(".")


def matched_files(pattern: str) -> set[Path]:
    files = set()
    for match in glob.glob(pattern, recursive=True, include_hidden=True):
        path = Path(match)
        if path.is_dir():
            files.update(p for p in path.rglob("*") if p.is_file())
        elif path.is_file():
            files.add(path)
    return {p.absolute() for p in files}


def collect(lines: list[str], include_hidden: bool) -> tuple[Path, list[Path]]:
    includes = [os.path.expanduser(line) for line in lines if not line.startswith("!")]
    excludes = [os.path.expanduser(line[1:]) for line in lines if line.startswith("!")]
    files = set().union(*(matched_files(p) for p in includes))
    files -= set().union(*(matched_files(p) for p in excludes))
    roots = [search_path(p).absolute() for p in includes]
    if len(roots) == 1:
        root = roots[0].parent if roots[0].is_file() else roots[0]
    else:
        root = Path(os.path.commonpath(roots))
        if root.is_file():
            root = root.parent
    if not include_hidden:
        files = {
            f for f in files if not any(part.startswith(".") for part in f.relative_to(root).parts)
        }
    return root, sorted(files)


def main() -> None:
    name = os.environ["INPUT_NAME"]
    lines = [line.strip() for line in os.environ["INPUT_PATH"].splitlines()]
    lines = [line for line in lines if line and not line.startswith("#")]
    mode = os.environ["INPUT_IF_NO_FILES_FOUND"]
    if not name or FORBIDDEN_NAME_CHARS & set(name):
        fail(f"invalid artifact name: {name!r}")
    if not lines:
        fail("input 'path' is required")
    if mode not in ("warn", "error", "ignore"):
        fail(f"unrecognized if-no-files-found value: {mode!r}")
    retention_days = parse_int("INPUT_RETENTION_DAYS", 0)
    if retention_days > MAX_RETENTION_DAYS:
        print(
            f"::warning::retention-days {retention_days} exceeds {MAX_RETENTION_DAYS}; "
            f"using {MAX_RETENTION_DAYS}"
        )
        retention_days = MAX_RETENTION_DAYS
    compression_level = parse_int("INPUT_COMPRESSION_LEVEL", 0, 9)

    root, files = collect(lines, os.environ["INPUT_INCLUDE_HIDDEN_FILES"] == "true")
    if not files:
        message = (
            f"No files were found with the provided path: {' '.join(lines)}. "
            "No artifacts will be uploaded."
        )
        if mode == "error":
            fail(message)
        if mode == "warn":
            print(f"::warning::{message}")
        return

    store = Path(os.environ["ACT_SHIM_ARTIFACTS_DIR"])
    store.mkdir(parents=True, exist_ok=True)
    with open(store / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        target, record = store / name, store / f"{name}.json"
        if target.exists():
            if os.environ["INPUT_OVERWRITE"] != "true":
                fail(f"an artifact named {name!r} already exists in this run")
            shutil.rmtree(target)
        digest = hashlib.sha256()
        relative = [str(f.relative_to(root)) for f in files]
        for source, rel in zip(files, relative, strict=True):
            (target / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / rel)
            digest.update(rel.encode() + b"\0" + source.read_bytes())
        artifact_id = len(list(store.glob("*.json"))) + 1
        record.write_text(
            json.dumps(
                {
                    "id": artifact_id,
                    "name": name,
                    "files": relative,
                    "retention-days": retention_days,
                    "compression-level": compression_level,
                },
                indent=2,
            )
        )
    with open(os.environ["GITHUB_OUTPUT"], "a") as out:
        out.write(f"artifact-id={artifact_id}\n")
        out.write(f"artifact-url=file://{target}\n")
        out.write(f"artifact-digest={digest.hexdigest()}\n")
    print(f"Uploaded {len(files)} file(s) to artifact {name!r} (id {artifact_id})")


if __name__ == "__main__":
    main()
