"""GitHub Releases through the `gh` CLI: the durable storage every repository has.

`gh` is installed on GitHub-hosted runners and reads its token from GH_TOKEN; the repository
is $GITHUB_REPOSITORY unless given. Tests put a fake `gh` on PATH that records the calls.
"""

import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from mlops.errors import PipelineError

NOT_FOUND = "release not found"


@dataclass(frozen=True)
class Releases:
    repository: str

    @classmethod
    def from_environment(cls) -> "Releases":
        repository = os.environ.get("GITHUB_REPOSITORY", "")
        if not repository:
            raise PipelineError(
                "GITHUB_REPOSITORY is not set: name the repository that holds the champion "
                "(owner/name), and give gh a token in GH_TOKEN"
            )
        if shutil.which("gh") is None:
            raise PipelineError("the GitHub CLI `gh` is not installed (https://cli.github.com)")
        return cls(repository)

    def _gh(self, *args: str, missing_ok: bool = False) -> str | None:
        command = ["gh", "release", *args, "--repo", self.repository]
        try:
            result = subprocess.run(command, capture_output=True, text=True, timeout=600)
        except (OSError, subprocess.TimeoutExpired) as error:
            raise PipelineError(f"gh release {args[0]}: {error}") from None
        if result.returncode != 0:
            message = (result.stderr or result.stdout).strip()
            if missing_ok and NOT_FOUND in message.lower():
                return None
            raise PipelineError(
                f"gh release {args[0]} {args[1] if len(args) > 1 else ''} on "
                f"{self.repository} failed: {message or f'exit {result.returncode}'}"
            )
        return result.stdout

    def assets(self, tag: str) -> list[str] | None:
        """Asset names of the release `tag`, or None when there is no such release."""
        output = self._gh("view", tag, "--json", "assets", missing_ok=True)
        if output is None:
            return None
        return [asset["name"] for asset in json.loads(output)["assets"]]

    def download(self, tag: str, name: str, directory: Path) -> Path:
        directory.mkdir(parents=True, exist_ok=True)
        self._gh("download", tag, "--pattern", name, "--dir", str(directory), "--clobber")
        path = directory / name
        if not path.is_file():
            raise PipelineError(f"release {tag} on {self.repository}: asset {name} not found")
        return path

    def create(
        self, tag: str, files: list[Path], title: str, notes: str, target: str | None
    ) -> None:
        """A new release and its tag (at `target`, else the default branch); fails if the tag
        exists, so a tag is never reused."""
        where = ["--target", target] if target else []
        self._gh(
            "create",
            tag,
            *map(str, files),
            "--title",
            title,
            "--notes",
            notes,
            *where,
            "--latest=false",
        )

    def upload(self, tag: str, files: list[Path]) -> None:
        self._gh("upload", tag, *map(str, files), "--clobber")

    def delete_asset(self, tag: str, name: str) -> None:
        self._gh("delete-asset", tag, name, "--yes")
