"""Text from the data made safe for markdown (job summaries, pull-request comments)."""

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
