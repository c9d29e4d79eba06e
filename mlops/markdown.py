"""Markdown for job summaries and pull-request comments: text from the data made safe, and
reports cut to fit GitHub's limits. Standard library only (the comment job installs nothing)."""

from collections.abc import Callable

# A table cell holds at most this many characters of data.
MAX_CELL = 200
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
