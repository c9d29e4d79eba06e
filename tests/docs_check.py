"""What a test can check in the documentation: that every `make` target, config key, repository
path and relative link (with its #anchor) that a page names exists.

What counts as a name, so that new pages are checked without being registered anywhere:
- a make target: `make <target>` in a code span or a fenced block (not in its # comments);
- a config key: a dotted code span that starts with a top-level section of config.yaml
  (`gate.rule`); it must be a key of the pydantic models in mlops/config.py, or else a name the
  project's code writes verbatim (an MLflow tag such as `data.sha256`, an API it calls);
- a path: a code span with a `/` whose first part is in the repository (`mlops/gate.py`,
  `tests/fixtures/`), or a bare file name ending in .py, .yml, .yaml, .toml, .in or .txt; files
  git ignores (outputs, stores) are generated, so not checked;
- a link: `[text](target)` outside code, relative to the page, and its `#anchor`, which must
  be a heading of the target page (GitHub's anchors: lower case, punctuation dropped, spaces
  to hyphens, repeats numbered).
Paths and links into data/ and gx/ are not checked: a fork replaces those folders.
"""

import re
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, get_args, get_origin

from pydantic import BaseModel

FORK_OWNED = ("data/", "gx/")
FENCE = re.compile(r"^(```|~~~)")
CODE_SPAN = re.compile(r"(`+)(.+?)\1")
MAKE = re.compile(r"(?<![\w/.-])make\s+([a-z][a-z0-9-]*)\b(?!=)")
LINK = re.compile(r"!?\[((?:[^\[\]]|\[[^\]]*\])*)\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
PATH = re.compile(r"\.?/?[\w.-]+(?:/[\w.-]*)*")
KEY = re.compile(r"[a-z_]+(?:\.[A-Za-z0-9_]+)+")
BARE_FILE = re.compile(r"[\w.-]+\.(?:py|yml|yaml|toml|in|txt)")
COMMENT = re.compile(r"(^|\s)#.*")  # in a code block, a shell comment is prose
TARGET = re.compile(r"^([a-z][a-z0-9-]*):(?!=)", re.MULTILINE)


@dataclass(frozen=True)
class Names:
    """What exists: the Makefile's targets, the config's models, the repository's files."""

    root: Path
    targets: frozenset[str]
    config: type[BaseModel]
    files: frozenset[str]  # paths relative to root, "/"-separated
    code: str  # the project's Python source: names it writes that are not config keys
    is_ignored: Callable[[str], bool]

    def exists(self, path: str) -> bool:
        path = path.strip("/")
        return path in self.files or any(name.startswith(f"{path}/") for name in self.files)


def split_fences(text: str) -> tuple[list[str], list[str]]:
    """The page's prose lines and its fenced code blocks' lines."""
    prose, code, fence = [], [], None
    for line in text.splitlines():
        marker = FENCE.match(line.lstrip())
        if marker and (fence is None or marker[1] == fence):
            fence = marker[1] if fence is None else None
            continue
        (code if fence else prose).append(line)
    return prose, code


def slug(heading: str) -> str:
    """GitHub's anchor for a heading."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading).strip().lower()
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors(text: str) -> set[str]:
    seen: dict[str, int] = {}
    found = set()
    for line in split_fences(text)[0]:
        heading = HEADING.match(line)
        if heading:
            base = slug(heading[2])
            found.add(f"{base}-{seen[base]}" if base in seen else base)
            seen[base] = seen.get(base, 0) + 1
    return found


def config_key_exists(model: type[BaseModel], parts: list[str]) -> bool:
    """`parts` walk the pydantic models; anything goes below a mapping (model.params.C)."""
    field = model.model_fields.get(parts[0])
    if field is None or field.exclude:
        return False
    annotation = field.annotation
    if len(parts) == 1:
        return True
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return config_key_exists(annotation, parts[1:])
    return get_origin(annotation) is dict or annotation is dict or _is_mapping(annotation)


def _is_mapping(annotation: Any) -> bool:
    return any(get_origin(arg) is dict for arg in get_args(annotation))


def page_problems(page: Path, text: str, names: Names) -> list[str]:
    """Each name on the page that does not exist, as "page: what is missing"."""
    where = page.relative_to(names.root).as_posix() if page.is_relative_to(names.root) else page
    prose, code = split_fences(text)
    spans = [span[1] for line in prose for span in CODE_SPAN.findall(line)]
    problems = []
    commands = [*spans, *(COMMENT.sub("", line) for line in code)]
    for command in commands:
        for target in MAKE.findall(command):
            if target not in names.targets:
                problems.append(f"{where}: `make {target}`: no such target in the Makefile")
    sections = set(names.config.model_fields)
    for span in (span.strip() for span in spans):
        if BARE_FILE.fullmatch(span):
            problems += _path_problem(where, span, names)
        elif KEY.fullmatch(span) and span.split(".")[0] in sections:
            if not config_key_exists(names.config, span.split(".")) and span not in names.code:
                problems.append(
                    f"{where}: `{span}`: no such key in config.yaml's models (mlops/config.py), "
                    "and not a name the code writes"
                )
        elif PATH.fullmatch(span) and "/" in span:
            problems += _path_problem(where, span, names)
    page_anchors = anchors(text)
    for line in prose:
        for _, target in LINK.findall(CODE_SPAN.sub("", line)):
            problems += _link_problem(where, page, target, page_anchors, names)
    return problems


def _path_problem(where: str, span: str, names: Names) -> list[str]:
    path = span.removeprefix("./")
    if path.startswith("/") or names.is_ignored(path):
        return []  # an absolute path, or a generated one
    if "/" not in path:  # a bare file name: some file of the repository has it
        if any(Path(name).name == path for name in names.files):
            return []
        return [f"{where}: `{span}`: no file of that name in the repository"]
    if not names.exists(path.split("/")[0]) or path.startswith(FORK_OWNED):
        return []  # not a repository path (a folder inside a run or an artifact), or a fork's
    return [] if names.exists(path) else [f"{where}: `{span}`: no such file or folder"]


def _link_problem(
    where: str, page: Path, target: str, page_anchors: set[str], names: Names
) -> list[str]:
    if re.match(r"[a-z][a-z0-9+.-]*:", target):  # https:, mailto:
        return []
    path, _, anchor = target.partition("#")
    if not path:
        return [] if anchor in page_anchors else [f"{where}: link #{anchor}: no such heading"]
    resolved = (page.parent / path).resolve()
    if not resolved.is_relative_to(names.root):
        return [f"{where}: link {target}: outside the repository"]
    relative = resolved.relative_to(names.root).as_posix()
    if relative.startswith(FORK_OWNED):
        return []
    if not names.exists(relative):
        return [f"{where}: link {target}: no such file"]
    if anchor and relative.endswith(".md"):
        if anchor not in anchors((names.root / relative).read_text()):
            return [f"{where}: link {target}: no heading #{anchor} in {relative}"]
    return []


def repository_names(root: Path) -> Names:
    """What exists in the checkout at `root`: tracked files and new ones git does not ignore."""
    from mlops.config import Config

    def git(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
        return subprocess.run(
            ["git", *args], cwd=root, input=stdin, capture_output=True, text=True, check=False
        )

    listed = git("ls-files", "-co", "--exclude-standard")
    if listed.returncode != 0:
        raise RuntimeError(f"{root} is not a git checkout: {listed.stderr.strip()}")
    files = frozenset(listed.stdout.splitlines())
    ignored_cache: dict[str, bool] = {}

    def is_ignored(path: str) -> bool:
        if path not in ignored_cache:
            ignored_cache[path] = git("check-ignore", "-q", "--no-index", path).returncode == 0
        return ignored_cache[path]

    code = "\n".join(
        (root / name).read_text(errors="replace")
        for name in files
        if name.endswith(".py") and not name.startswith("tests/") and (root / name).is_file()
    )
    return Names(
        root=root,
        targets=frozenset(TARGET.findall((root / "Makefile").read_text())),
        config=Config,
        files=files,
        code=code,
        is_ignored=is_ignored,
    )
