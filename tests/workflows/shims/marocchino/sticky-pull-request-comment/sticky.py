"""Create or update one sticky comment per (repository, PR, header).

Records live in $ACT_SHIM_COMMENTS_DIR/comments.json.

Each record is {repo, pr, header, body, comment_id, created_count, updated_count,
deleted_count, hidden_count}; body is null once the comment has been deleted.
"""

import fcntl
import glob
import json
import os
import sys
from pathlib import Path


def fail(message: str) -> None:
    print(f"::error title=sticky-pull-request-comment shim::{message}")
    sys.exit(1)


def flag(name: str) -> bool:
    return os.environ[f"INPUT_{name.upper()}"] == "true"


def pull_request_number() -> int | None:
    raw = os.environ["INPUT_NUMBER"]
    if raw:
        if not raw.isdigit():
            fail(f"invalid number: {raw!r}")
        return int(raw)
    event = json.loads(Path(os.environ["GITHUB_EVENT_PATH"]).read_text() or "{}")
    number = (event.get("pull_request") or {}).get("number")
    return int(number) if number else None


def message_body() -> str:
    if os.environ["INPUT_MESSAGE"]:
        return os.environ["INPUT_MESSAGE"]
    files = (
        sorted(glob.glob(os.environ["INPUT_PATH"], recursive=True))
        if os.environ["INPUT_PATH"]
        else []
    )
    if os.environ["INPUT_PATH"] and not files:
        fail(f"no file matches path {os.environ['INPUT_PATH']!r}")
    return "\n".join(Path(f).read_text() for f in files)


def main() -> None:
    delete, recreate, append = flag("delete"), flag("recreate"), flag("append")
    only_create, only_update = flag("only_create"), flag("only_update")
    hide, hide_and_recreate = flag("hide"), flag("hide_and_recreate")
    if delete and recreate:
        fail("delete and recreate cannot be both set to true")
    if only_create and only_update:
        fail("only_create and only_update cannot be both set to true")
    if hide and hide_and_recreate:
        fail("hide and hide_and_recreate cannot be both set to true")

    number = pull_request_number()
    if number is None:
        print("no pull request numbers given: skip step")
        return
    body = message_body()
    if not body and not (delete or hide):
        if flag("ignore_empty"):
            print("no comment message: skip step")
            return
        fail("Either message or path input is required")

    owner, name = os.environ["GITHUB_REPOSITORY"].split("/", 1)
    repo = f"{os.environ['INPUT_OWNER'] or owner}/{os.environ['INPUT_REPO'] or name}"
    header = os.environ["INPUT_HEADER"]
    store = Path(os.environ["ACT_SHIM_COMMENTS_DIR"])
    store.mkdir(parents=True, exist_ok=True)
    outputs = {}
    with open(store / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        path = store / "comments.json"
        records = json.loads(path.read_text()) if path.exists() else []
        next_id = 1 + max((r["comment_id"] or 0 for r in records), default=0)
        record = next(
            (r for r in records if (r["repo"], r["pr"], r["header"]) == (repo, number, header)),
            None,
        )
        if record is None:
            record = {
                "repo": repo,
                "pr": number,
                "header": header,
                "body": None,
                "comment_id": None,
                "created_count": 0,
                "updated_count": 0,
                "deleted_count": 0,
                "hidden_count": 0,
            }
            records.append(record)
        previous = record["body"] is not None
        if previous:
            outputs["previous_comment_id"] = record["comment_id"]

        def create(text: str) -> None:
            record.update(body=text, comment_id=next_id, created_count=record["created_count"] + 1)
            outputs["created_comment_id"] = next_id

        if delete:
            if previous:
                record.update(body=None, comment_id=None, deleted_count=record["deleted_count"] + 1)
        elif not previous:
            if not only_update:
                create(body)
        elif only_create or (flag("skip_unchanged") and record["body"] == body):
            pass
        elif hide:
            record["hidden_count"] += 1
        else:
            text = f"{record['body']}\n{body}" if append else body
            if recreate or hide_and_recreate:
                record["deleted_count" if recreate else "hidden_count"] += 1
                create(text)
            else:
                record.update(body=text, updated_count=record["updated_count"] + 1)
        path.write_text(json.dumps(records, indent=2))
    with open(os.environ["GITHUB_OUTPUT"], "a") as out:
        out.writelines(f"{key}={value}\n" for key, value in outputs.items())


if __name__ == "__main__":
    main()
