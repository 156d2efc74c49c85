"""The labelling guideline shipped in the package (`data/GUIDELINE.md`): quoted rules and a page.

The self-check page quotes the guideline's own words, read from the shipped file, so that the
advice a civil servant sees never drifts from the rules the annotators and reviewers follow.
`render_guideline` turns the file's small Markdown subset (headings, paragraphs, lists, tables,
quotes, bold and code) into HTML with an anchor per section (`#s4-1` for "4.1").
"""

from __future__ import annotations

import functools
import html
import re
from importlib.resources import files

__all__ = ["guideline_text", "render_guideline", "rule_text", "section_anchor"]

_HEADING = re.compile(r"^(#{1,6})\s+(.*)$")
_NUMBER = re.compile(r"^(\d+(?:\.\d+)*)\.?\s")


@functools.cache
def guideline_text() -> str:
    return (files("netralitas.data") / "GUIDELINE.md").read_text(encoding="utf-8")


def section_anchor(number: str) -> str:
    """`"4.1"` -> `"s4-1"`: the id of that section's heading on the guideline page."""
    return "s" + number.replace(".", "-")


@functools.cache
def _sections() -> dict[str, list[str]]:
    """Section number -> its lines (up to the next heading of any level); parsed once, read by
    every self-check."""
    out: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in guideline_text().splitlines():
        heading = _HEADING.match(line)
        if heading:
            number = _NUMBER.match(heading.group(2))
            current = out.setdefault(number.group(1), []) if number else None
            continue
        if current is not None:
            current.append(line)
    return out


@functools.cache
def rule_text(number: str) -> str:
    """The Indonesian part (`**ID.**` ... up to `**EN.**`) of section `number`, as Markdown.

    >>> rule_text("1").startswith("Aparatur sipil negara (ASN) wajib netral")
    True
    """
    lines = _sections().get(number)
    if lines is None:
        raise KeyError(f"the guideline has no section {number!r}")
    text = "\n".join(lines)
    start = text.find("**ID.**")
    if start < 0:
        raise KeyError(f"section {number!r} of the guideline has no **ID.** part")
    end = text.find("**EN.**", start)
    return text[start + len("**ID.**") : end if end >= 0 else None].strip()


def _inline(text: str) -> str:
    out = html.escape(text, quote=False)
    out = re.sub(r"`([^`]+)`", r"<code>\1</code>", out)
    out = re.sub(r"\*\*([^*]+)\*\*", r"<strong>\1</strong>", out)
    return re.sub(r"(?<![*\w])\*([^*]+)\*(?![*\w])", r"<em>\1</em>", out)


def _cells(line: str) -> list[str]:
    return [c.strip() for c in line.strip().strip("|").split("|")]


def _block(lines: list[str]) -> str:
    first = lines[0].lstrip()
    if first.startswith("|") and len(lines) >= 2:
        head, rows = _cells(lines[0]), [_cells(x) for x in lines[2:]]
        th = "".join(f"<th>{_inline(c)}</th>" for c in head)
        body = "".join(
            "<tr>" + "".join(f"<td>{_inline(c)}</td>" for c in row) + "</tr>" for row in rows
        )
        return f'<div class="table"><table><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table></div>'
    if first.startswith(">"):
        inner = " ".join(x.lstrip()[1:].strip() for x in lines)
        return f"<blockquote>{_inline(inner)}</blockquote>"
    list_item = re.compile(r"^\s*(?:[-*]|\d+\.)\s+")
    if list_item.match(first):
        items: list[str] = []
        for line in lines:
            if list_item.match(line):
                items.append(list_item.sub("", line))
            elif items:
                items[-1] += " " + line.strip()
        tag = "ol" if first[0].isdigit() else "ul"
        return f"<{tag}>" + "".join(f"<li>{_inline(i)}</li>" for i in items) + f"</{tag}>"
    if first.startswith("---"):
        return "<hr>"
    return f"<p>{_inline(' '.join(x.strip() for x in lines))}</p>"


def render_markdown(text: str) -> str:
    """HTML for the guideline's Markdown subset; every character of the source is escaped."""
    out: list[str] = []
    block: list[str] = []

    def flush() -> None:
        if block:
            out.append(_block(block))
            block.clear()

    for line in text.splitlines():
        heading = _HEADING.match(line)
        if heading:
            flush()
            level = len(heading.group(1))
            number = _NUMBER.match(heading.group(2))
            anchor = f' id="{section_anchor(number.group(1))}"' if number else ""
            out.append(f"<h{level}{anchor}>{_inline(heading.group(2))}</h{level}>")
        elif not line.strip():
            flush()
        else:
            block.append(line)
    flush()
    return "\n".join(out)


@functools.cache
def render_guideline() -> str:
    """The whole shipped guideline as HTML (a fragment for the page body), rendered once."""
    return render_markdown(guideline_text())
