"""Markdown checked the way GitHub shows it: cmark-gfm (GitHub's own renderer) for tables and
escaping, and Mermaid's own parser (tests/mermaid/, run with Node.js) for every chart."""

import json
import re
import shutil
import subprocess
from pathlib import Path

import cmarkgfm
from cmarkgfm.cmark import Options

MERMAID_DIR = Path(__file__).resolve().parent / "mermaid"
# `make test` installs the locked packages here (npm ci).
MERMAID_MODULES = MERMAID_DIR / "node_modules" / "mermaid"
# Raw HTML the reports write on purpose, and GitHub keeps: the pull-request comment's marker
# and the folded block of the gate's method.
ALLOWED_RAW_HTML = (
    "<!-- model-evaluation -->",
    "<details>",
    "<summary>",
    "</summary>",
    "</details>",
)


def github_html(markdown: str) -> str:
    """The HTML GitHub's renderer makes of the markdown (raw HTML omitted, as GitHub strips)."""
    return cmarkgfm.github_flavored_markdown_to_html(
        markdown, options=Options.CMARK_OPT_GITHUB_PRE_LANG
    )


def table_cells(row: str) -> list[str]:
    """A table row split where GitHub splits it: at pipes not escaped (code spans included)."""
    return [part.strip() for part in re.split(r"(?<!\\)\|", row.strip())[1:-1]]


def mermaid_blocks(markdown: str) -> list[str]:
    """The text of every ```mermaid block."""
    return re.findall(r"^```mermaid\n(.*?)^```$", markdown, flags=re.S | re.M)


def parse_mermaid(diagrams: list[str]) -> list[dict]:
    """Mermaid's verdict on each diagram: {"ok": True, "type": ...} or {"ok": False, "error"}."""
    node = shutil.which("node")
    if node is None or not MERMAID_MODULES.is_dir():
        raise RuntimeError(
            "Mermaid's parser is not installed: `make test` runs `npm ci` in tests/mermaid "
            "(Node.js 20 or newer)"
        )
    result = subprocess.run(
        [node, str(MERMAID_DIR / "parse.mjs")],
        input=json.dumps(diagrams),
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return json.loads(result.stdout)


def markdown_problems(markdown: str) -> list[str]:
    """What would look wrong on GitHub: a table row with more or fewer cells than its header
    (GitHub silently drops or pads cells), HTML from the data, a Mermaid chart that does not
    parse, an unclosed code block."""
    problems = []
    lines = markdown.splitlines()
    in_code = False
    header_cells = None
    for number, line in enumerate(lines, 1):
        if line.startswith("```"):
            in_code = not in_code
            continue
        if in_code:
            continue
        if line.startswith("|"):
            cells = len(table_cells(line))
            if header_cells is None:
                header_cells = cells
            elif cells != header_cells:
                problems.append(f"line {number}: {cells} cells, the header has {header_cells}")
        else:
            header_cells = None
    if in_code:
        problems.append("a code block is never closed")
    html = github_html(markdown)
    stripped = markdown
    for allowed in ALLOWED_RAW_HTML:
        stripped = stripped.replace(allowed, "")
    if "raw HTML omitted" in github_html(stripped):
        problems.append("raw HTML reaches the renderer (GitHub strips it)")
    if re.search(r"<script|<img|<iframe", html):
        problems.append("active HTML in the rendered page")
    diagrams = mermaid_blocks(markdown)
    if diagrams:
        for index, verdict in enumerate(parse_mermaid(diagrams)):
            if not verdict["ok"]:
                problems.append(f"Mermaid chart {index + 1}: {verdict['error']}")
    return problems
