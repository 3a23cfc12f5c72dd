"""A card's markdown as a heading tree of blocks: paragraphs, lists, tables, code, HTML, and its links.

markdown-it-py (CommonMark plus GFM tables) does the parsing, so emphasis, escapes, nested lists and
pipes inside code spans are read the way the Hub renders them. Each block remembers the section it is
in (index into :attr:`Document.sections`; 0 is the text before the first heading) and its 1-based line
in the body. Tables in raw HTML (``<table>``), which some cards use, are read into the same shape.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any

from markdown_it import MarkdownIt
from markdown_it.token import Token

_MD = MarkdownIt("commonmark", {"html": True}).enable("table")
# Links are read, never rendered: the URL normalisation (punycode, percent-encoding) and the renderer's
# scheme check cost a fifth of the parse and would only change what the card says.
_MD.normalizeLink = lambda url: url  # type: ignore[method-assign]
_MD.validateLink = lambda url: True  # type: ignore[method-assign]
# Cards of a few hundred KB exist (pasted logs); beyond this the rest is not parsed for structure.
MAX_PARSE_CHARS = 400_000


@dataclass
class Section:
    title: str
    level: int
    parent: int | None
    line: int

    def __hash__(self) -> int:
        return id(self)


@dataclass(eq=False)
class Block:
    """``kind``: paragraph, list, table, code, html. ``text``: the plain text (a list's items and a
    table's rows joined by newlines). ``items`` for a list; ``header`` and ``rows`` for a table;
    ``info`` a code block's language."""

    kind: str
    section: int
    line: int
    text: str
    items: list[str] = field(default_factory=list)
    header: list[str] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)
    info: str = ""
    index: int = -1  # position in Document.blocks


@dataclass(frozen=True)
class Link:
    text: str
    href: str
    section: int
    line: int
    image: bool = False


@dataclass
class Document:
    sections: list[Section]
    blocks: list[Block]
    links: list[Link]

    def path(self, section: int) -> list[str]:
        """The titles from the top heading down to ``section``."""
        titles: list[str] = []
        at: int | None = section
        while at is not None and at > 0:
            titles.append(self.sections[at].title)
            at = self.sections[at].parent
        return titles[::-1]

    def within(self, section: int) -> set[int]:
        """``section`` and every section below it."""
        found = {section}
        for index in range(section + 1, len(self.sections)):
            parent = self.sections[index].parent
            if parent is not None and parent in found:
                found.add(index)
        return found

    def section_text(self, section: int, *, kinds: tuple[str, ...] = ("paragraph", "list", "table")) -> str:
        """The text of ``section`` and its subsections."""
        inside = self.within(section)
        return "\n".join(b.text for b in self.blocks if b.section in inside and b.kind in kinds)

    def before(self, block: Block) -> Block | None:
        """The block just before ``block`` in the same section."""
        index = block.index
        if index > 0 and self.blocks[index - 1].section == block.section:
            return self.blocks[index - 1]
        return None


def parse(body: str) -> Document:
    sections = [Section("", 0, None, 1)]
    doc = Document(sections, [], [])
    try:
        tokens = _MD.parse(body[:MAX_PARSE_CHARS])
    except Exception:  # markdown-it has no error states, but a parser bug must not stop a card
        doc.blocks.append(Block("paragraph", 0, 1, body[:MAX_PARSE_CHARS]))
        return doc
    _Walker(doc, tokens).run()
    for index, block in enumerate(doc.blocks):
        block.index = index
    return doc


class _Walker:
    def __init__(self, doc: Document, tokens: list[Token]) -> None:
        self.doc = doc
        self.tokens = tokens
        self.i = 0
        self.current = 0

    def run(self) -> None:
        tokens = self.tokens
        while self.i < len(tokens):
            token = tokens[self.i]
            kind = token.type
            if kind == "heading_open":
                self._heading(token)
                continue
            if kind == "paragraph_open":
                inline = tokens[self.i + 1]
                self._add("paragraph", token, self._inline(inline, token))
                self.i += 3
                continue
            elif kind in ("bullet_list_open", "ordered_list_open"):
                self._list(token)
                continue
            elif kind == "table_open":
                self._table(token)
                continue
            elif kind in ("fence", "code_block"):
                block = self._add("code", token, token.content)
                block.info = token.info.strip().split(" ")[0].lower() if token.info else ""
            elif kind == "html_block":
                self._html(token)
            self.i += 1

    def _line(self, token: Token) -> int:
        return token.map[0] + 1 if token.map else 1

    def _add(self, kind: str, token: Token, text: str) -> Block:
        block = Block(kind, self.current, self._line(token), text)
        self.doc.blocks.append(block)
        return block

    def _heading(self, token: Token) -> None:
        level = int(token.tag[1:]) if token.tag[1:].isdigit() else 1
        title = self._inline(self.tokens[self.i + 1], token).strip()
        sections = self.doc.sections
        parent: int | None = len(sections) - 1
        while parent is not None and parent > 0 and sections[parent].level >= level:
            parent = sections[parent].parent
        sections.append(Section(title, level, parent, self._line(token)))
        self.current = len(sections) - 1
        self.i += 3

    def _inline(self, inline: Token, block: Token) -> str:
        line = self._line(block)
        parts: list[str] = []
        href: str | None = None
        link_start = 0
        for child in inline.children or []:
            kind = child.type
            if kind in ("text", "code_inline", "html_inline"):
                parts.append(child.content)
            elif kind in ("softbreak", "hardbreak"):
                parts.append("\n")
            elif kind == "link_open":
                href = str(child.attrs.get("href") or "")
                link_start = len(parts)
            elif kind == "link_close":
                if href:
                    self.doc.links.append(Link("".join(parts[link_start:]).strip(), href, self.current, line))
                href = None
            elif kind == "image":
                alt = child.content or ""
                parts.append(alt)
                src = str(child.attrs.get("src") or "")
                if src:
                    self.doc.links.append(Link(alt, src, self.current, line, image=True))
        return "".join(parts)

    def _list(self, token: Token) -> None:
        """One list block with every item (nested items too), each as its own text."""
        depth = 0
        items: list[str] = []
        start = token
        tokens = self.tokens
        while self.i < len(tokens):
            token = tokens[self.i]
            if token.type in ("bullet_list_open", "ordered_list_open"):
                depth += 1
            elif token.type in ("bullet_list_close", "ordered_list_close"):
                depth -= 1
                if depth == 0:
                    self.i += 1
                    break
            elif token.type == "inline":
                items.append(self._inline(token, token))
            elif token.type in ("fence", "code_block"):
                code = Block("code", self.current, self._line(token), token.content,
                             info=token.info.strip().split(" ")[0].lower() if token.info else "")
                self.doc.blocks.append(code)
            elif token.type == "table_open":
                self._table(token)
                continue
            self.i += 1
        block = self._add("list", start, "\n".join(items))
        block.items = items

    def _table(self, token: Token) -> None:
        header: list[str] = []
        rows: list[list[str]] = []
        row: list[str] | None = None
        in_head = False
        tokens = self.tokens
        while self.i < len(tokens):
            t = tokens[self.i]
            self.i += 1
            if t.type == "table_close":
                break
            if t.type == "thead_open":
                in_head = True
            elif t.type == "thead_close":
                in_head = False
            elif t.type == "tr_open":
                row = []
            elif t.type == "tr_close" and row is not None:
                if in_head:
                    header = row
                else:
                    rows.append(row)
                row = None
            elif t.type == "inline" and row is not None:
                row.append(" ".join(self._inline(t, token).split()))
        self._add_table(token, header, rows)

    def _add_table(self, token: Token, header: list[str], rows: list[list[str]]) -> None:
        text = "\n".join(" | ".join(r) for r in [header, *rows])
        block = self._add("table", token, text)
        block.header = header
        block.rows = rows

    def _html(self, token: Token) -> None:
        content = token.content
        if "<table" in content.lower():
            for header, rows in _html_tables(content):
                self._add_table(token, header, rows)
            return
        text = _strip_tags(content)
        if text.strip():
            self._add("html", token, text)
        for match in _HREF.finditer(content):
            self.doc.links.append(Link("", match.group(1), self.current, self._line(token),
                                       image=match.group(0).lower().startswith("src")))


_HREF = re.compile(r"""(?:href|src)\s*=\s*["']([^"']+)["']""", re.IGNORECASE)
_TAG = re.compile(r"<[^>]*>")


def _strip_tags(html: str) -> str:
    return _TAG.sub(" ", html)


class _TableParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tables: list[tuple[list[str], list[list[str]]]] = []
        self._rows: list[tuple[bool, list[str]]] = []
        self._row: list[str] | None = None
        self._cell: list[str] | None = None
        self._head = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table":
            self._rows = []
        elif tag == "tr":
            self._row = []
            self._head = True
        elif tag in ("td", "th"):
            self._cell = []
            if tag == "td":
                self._head = False

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None and self._row is not None:
            self._row.append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "tr" and self._row is not None:
            self._rows.append((self._head, self._row))
            self._row = None
        elif tag == "table":
            rows = self._rows
            header = rows[0][1] if rows and rows[0][0] else []
            body = [r for _, r in (rows[1:] if header else rows)]
            self.tables.append((header, body))
            self._rows = []

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def _html_tables(html: str) -> Iterator[tuple[list[str], list[list[str]]]]:
    parser = _TableParser()
    try:
        parser.feed(html)
        parser.close()
    except Exception:  # html.parser is lenient; a failure here only loses this table
        return
    yield from parser.tables


def plain(value: Any) -> str:
    """Markdown emphasis and code marks off a short string."""
    return re.sub(r"[*_`]+", "", str(value)).strip()
