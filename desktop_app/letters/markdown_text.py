"""Markdown (a finding's description) as readable printed text: blocks of reportlab markup.

Reviewers write findings in Markdown; a record printed for auditors must show the text,
not `**`, `#` or backticks. This reads the subset reviewers use — headings, paragraphs,
bulleted and numbered lists, block quotes, fenced code, pipe tables, and inline bold,
italic, code and links — and gives each block as reportlab paragraph markup, every piece
of text escaped. Anything else prints as the text it is. No dependency, no HTML.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

#: one inline element: code span, bold, italic, or link (first match wins, left to right)
_INLINE = re.compile(r"`(?P<code>[^`]+)`|\*\*(?P<bold>.+?)\*\*|__(?P<bold2>.+?)__"
                     r"|(?<![\w*])\*(?P<italic>[^*\s][^*]*?)\*(?![\w*])|(?<![\w_])_(?P<italic2>[^_\s][^_]*?)_(?![\w_])"
                     r"|\[(?P<text>[^\]]+)\]\((?P<url>[^)\s]+)\)")
_HEADING = re.compile(r"^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
_BULLET = re.compile(r"^(\s*)[-*+]\s+(.*)$")
_NUMBERED = re.compile(r"^(\s*)(\d+)[.)]\s+(.*)$")
_QUOTE = re.compile(r"^\s{0,3}>\s?(.*)$")
_RULE = re.compile(r"^\s{0,3}([-*_])(\s*\1){2,}\s*$")
_FENCE = re.compile(r"^\s{0,3}(```|~~~)")
_TABLE_SEPARATOR = re.compile(r"^\s*\|?\s*:?-{2,}:?\s*(\|\s*:?-{2,}:?\s*)*\|?\s*$")


@dataclass(frozen=True)
class Block:
    """One printed block: `kind` is heading, paragraph, bullet, numbered, quote, code or row; `markup` is escaped."""

    kind: str
    markup: str
    #: list nesting (0 = top level)
    depth: int = 0


def inline_markup(text: str, escape: Callable[[str], str], mono: str) -> str:
    """One line of Markdown as paragraph markup: emphasis becomes <b>/<i>, code the `mono` font, links text (url)."""
    out: list[str] = []
    position = 0
    for match in _INLINE.finditer(text):
        out.append(escape(text[position:match.start()]))
        if match["code"] is not None:
            out.append(f'<font name="{mono}">{escape(match["code"])}</font>')
        elif (bold := match["bold"] or match["bold2"]) is not None:
            out.append(f"<b>{inline_markup(bold, escape, mono)}</b>")
        elif (italic := match["italic"] or match["italic2"]) is not None:
            out.append(f"<i>{inline_markup(italic, escape, mono)}</i>")
        else:
            label, url = match["text"], match["url"]
            out.append(inline_markup(label, escape, mono) + ("" if label == url else f" ({escape(url)})"))
        position = match.end()
    out.append(escape(text[position:]))
    return "".join(out)


def markdown_blocks(text: str, escape: Callable[[str], str], mono: str) -> list[Block]:
    """The blocks of a Markdown text, in order; `escape` makes plain text safe as paragraph markup."""
    return list(_blocks(text.replace("\r\n", "\n").replace("\t", "    ").split("\n"), escape, mono))


def _blocks(lines: list[str], escape: Callable[[str], str], mono: str) -> Iterator[Block]:
    paragraph: list[str] = []

    def flush() -> Iterator[Block]:
        if paragraph:
            yield Block("paragraph", inline_markup(" ".join(part.strip() for part in paragraph), escape, mono))
            paragraph.clear()

    index = 0
    while index < len(lines):
        line = lines[index]
        index += 1
        if _FENCE.match(line):
            yield from flush()
            code: list[str] = []
            while index < len(lines) and not _FENCE.match(lines[index]):
                code.append(lines[index])
                index += 1
            index += 1  # the closing fence
            yield Block("code", "<br/>".join(escape(row).replace(" ", "&nbsp;") for row in code))
            continue
        if not line.strip() or _RULE.match(line):
            yield from flush()
            continue
        if heading := _HEADING.match(line):
            yield from flush()
            yield Block("heading", inline_markup(heading[2], escape, mono))
        elif bullet := _BULLET.match(line):
            yield from flush()
            yield Block("bullet", inline_markup(bullet[2], escape, mono), len(bullet[1]) // 2)
        elif numbered := _NUMBERED.match(line):
            yield from flush()
            yield Block("numbered", f"{numbered[2]}. " + inline_markup(numbered[3], escape, mono),
                        len(numbered[1]) // 2)
        elif quote := _QUOTE.match(line):
            yield from flush()
            yield Block("quote", inline_markup(quote[1], escape, mono))
        elif line.lstrip().startswith("|"):
            yield from flush()
            if not _TABLE_SEPARATOR.match(line):
                cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
                yield Block("row", "  ·  ".join(inline_markup(cell, escape, mono) for cell in cells))
        else:
            paragraph.append(line)
    yield from flush()
