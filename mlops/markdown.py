"""Markdown for job summaries and pull-request comments: text from the data made safe,
tables, and reports cut to fit GitHub's limits. Standard library only (the comment job
installs nothing)."""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

# A table cell holds at most this many characters of data.
MAX_CELL = 200
# What a table shows for a cell with no value, in a column that has values elsewhere.
MISSING = "none"
# Markdown and HTML that text from the data must not trigger; "@" would notify a user.
_MARKDOWN_SPECIAL = str.maketrans(
    {
        **{c: "\\" + c for c in "\\|`*_[]"},
        **{"<": "&lt;", ">": "&gt;", "&": "&amp;", "@": "&#64;", "\n": " ", "\r": " "},
    }
)


def cell(text: str, code: bool = False) -> str:
    """Text from the data, safe inside a markdown table: no `|` ends the cell, no backtick,
    emphasis, link, tag, entity or mention takes effect, no line break splits the row; long
    text is cut."""
    text = str(text)
    if len(text) > MAX_CELL:
        text = text[: MAX_CELL - 1] + "…"
    if code:  # shown as code: only the backtick and the pipe need care
        return "`" + text.replace("`", "'").replace("|", "\\|").replace("\n", " ") + "`"
    return text.translate(_MARKDOWN_SPECIAL)


def some(names: Sequence[Any], most: int = 10, shown: Callable[[Any], str] = str) -> str:
    """The first `most` of `names`, each `shown`, joined, and how many more there are."""
    more = f" and {len(names) - most} more" if len(names) > most else ""
    return ", ".join(shown(name) for name in names[:most]) + more


def cut_to_fit(markdown: str, limit: int, note: str, size: Callable[[str], int] = len) -> str:
    """The markdown if it fits in `limit` (as measured by `size`), else its first whole lines
    and `note`, with a code block left open by the cut closed (a Mermaid chart cut in half
    would swallow the rest of the page)."""
    if size(markdown) <= limit:
        return markdown
    kept, used = [], size(note) + size("\n```")
    for line in markdown.splitlines():
        used += size(line) + 1
        if used > limit:
            break
        kept.append(line)
    if sum(line.startswith("```") for line in kept) % 2:
        kept.append("```")
    return "\n".join(kept) + note


@dataclass(frozen=True)
class Table:
    """Rows of cells under a header, drawn as a markdown table or as aligned text. A column
    with no cell in any row (None everywhere) is left out; elsewhere a missing cell reads
    MISSING."""

    header: list[str]
    rows: list[list[str | None]]

    def _shown(self) -> list[list[str]]:
        kept = [i for i in range(len(self.header)) if any(row[i] is not None for row in self.rows)]
        lines = [self.header, *self.rows]
        return [[MISSING if line[i] is None else line[i] for i in kept] for line in lines]

    def markdown(self) -> str:
        """Every cell escaped as text from the data (`cell`)."""
        header, *rows = self._shown()

        def line(cells: list[str]) -> str:
            return "| " + " | ".join(cells) + " |"

        return "\n".join(
            [line([cell(c) for c in header]), line(["---"] * len(header))]
            + [line([cell(c) for c in row]) for row in rows]
        )

    def text(self) -> str:
        """Columns aligned with spaces, for a terminal."""
        lines = [[" ".join(c.split()) for c in line] for line in self._shown()]
        widths = [max(len(line[i]) for line in lines) for i in range(len(lines[0]))]
        return "\n".join(
            "  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)).rstrip()
            for line in lines
        )
