"""Reading XML exports: no DTDs, no entities, no network, streamed record by record.

Any ``<!DOCTYPE`` is refused, twice over: the prolog (everything before the root element) is
scanned before parsing, and the parser's own document info is checked at the root element,
before a single record is read. A DTD is what external entities (XXE) and entity expansion
("billion laughs") need, and no export needs one. The parser is lxml's ``iterparse`` with
``resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False`` and never in
recover mode; files over :data:`~peertrain.imports.exports.MAX_XML_BYTES` are refused unread.

Records are the elements at the profile's ``record_path``; each field is an XPath relative to
the record. Every finished record is removed from the tree, and so is every finished element
above the record level; elements beside the records (``../name``) are kept until their parent
ends, and then only those a field refers to.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from lxml import etree

from peertrain._files import shown
from peertrain.errors import CatalogError
from peertrain.imports.exports._base import ExportError, Limits, RawRow
from peertrain.imports.profiles import Profile

__all__ = ["check_xml_prolog", "iter_xml"]

_PROLOG_WINDOW = 64 * 1024
_NAME = r"[A-Za-z_][\w.-]*"
# ``../../name/@attr`` and the like: evaluated without XPath (much faster per record).
_SIMPLE = re.compile(rf"(?P<up>(?:\.\./)*)(?:(?P<path>{_NAME}(?:/{_NAME})*)(?:/(?P<tail>@{_NAME}|text\(\)))?"
                     rf"|(?P<attr>@{_NAME})|(?P<dot>\.|\.\.))")
_Getter = Callable[[Any], str | None]
_DOCTYPE = (
    "has a DOCTYPE declaration; peertrain refuses XML with a DTD, because a DTD can define entities "
    "that read local files (XXE) or expand without limit (billion laughs), and no export needs one"
)


def _decode_head(head: bytes) -> str:
    if head.startswith(b"\xef\xbb\xbf"):  # a UTF-8 byte order mark, as Windows tools write
        head = head[3:]
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return head.decode("utf-16", errors="replace")
    if head.startswith((b"<\x00", b"\x00<")):
        return head.decode("utf-16-le" if head[0] else "utf-16-be", errors="replace")
    return head.decode("latin-1")  # byte for byte: markup is ASCII in every encoding XML allows here


def check_xml_prolog(path: Path) -> None:
    """Refuse (:class:`ExportError`) an XML file whose prolog has a DOCTYPE or is not XML at all."""
    where = shown(path)
    try:
        with path.open("rb") as handle:
            text = _decode_head(handle.read(_PROLOG_WINDOW))
    except OSError as exc:
        raise ExportError(where, f"cannot read the file: {exc.strerror or exc}") from None
    if not text.strip("\ufeff \t\r\n"):
        raise ExportError(where, "is empty: not an XML document")
    position = 0
    while True:
        while position < len(text) and text[position] in "\ufeff \t\r\n":
            position += 1
        if text.startswith("<?", position):
            end = text.find("?>", position)
            closing = 2
        elif text.startswith("<!--", position):
            end = text.find("-->", position + 4)
            closing = 3
        elif text.startswith("<!", position):
            raise ExportError(where, _DOCTYPE)
        elif text.startswith("<", position):
            return
        else:
            raise ExportError(where, "is not an XML document (it does not start with '<')")
        if end < 0:
            limit = f"{_PROLOG_WINDOW:,}"
            raise ExportError(where, f"its prolog (before the root element) is longer than {limit} bytes")
        position = end + closing


def _local(tag: object) -> str:
    if not isinstance(tag, str):
        return ""
    return tag.rpartition("}")[2]


def _string_value(node: Any) -> str | None:
    if isinstance(node, etree._Element):
        text = node.text if len(node) == 0 else "".join(node.itertext())
    elif isinstance(node, bool):
        text = "true" if node else "false"
    elif isinstance(node, float):
        text = str(int(node)) if node.is_integer() else repr(node)
    else:
        text = str(node)
    return text or None


def _compile(expression: str) -> _Getter:
    """A function from a record element to the field's text (``None`` when absent or empty)."""
    simple = _SIMPLE.fullmatch(expression.strip().removeprefix("./"))
    if simple is None:
        xpath = etree.XPath(expression)

        def by_xpath(record: Any) -> str | None:
            result = xpath(record)
            if isinstance(result, list):
                return _string_value(result[0]) if result else None
            return _string_value(result)

        return by_xpath
    ups = simple["up"].count("../") + (1 if simple["dot"] == ".." else 0)
    steps = simple["path"].split("/") if simple["path"] else []
    tail, attr = simple["tail"], simple["attr"] or None

    def by_steps(record: Any) -> str | None:
        node = record
        for _ in range(ups):
            node = node.getparent()
            if node is None:
                return None
        if attr is not None:
            return node.get(attr[1:]) or None
        for step in steps:
            node = next(node.iterchildren(step), None)
            if node is None:
                return None
        if tail == "text()":
            return node.text or None
        if tail:
            return node.get(tail[1:]) or None
        return _string_value(node)

    return by_steps


def _kept_siblings(profile: Profile) -> set[str] | None:
    """Names of elements beside the records that fields refer to (``None``: keep all)."""
    names: set[str] = set()
    for expression in profile.fields.values():
        simple = _SIMPLE.fullmatch(expression.strip().removeprefix("./"))
        if simple is None:
            if ".." in expression or "parent::" in expression or "ancestor" in expression:
                return None
            continue
        up = simple["up"].count("../")
        if up > 1:
            return None
        if up == 1 and simple["path"]:
            names.add(simple["path"].split("/")[0])
    return names


def iter_xml(path: Path, profile: Profile, limits: Limits | None = None) -> Iterator[RawRow]:
    """The records of an XML export, streamed; see the module docs."""
    limits = limits or Limits.from_env()
    where = shown(path)
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise ExportError(where, f"cannot read the file: {exc.strerror or exc}") from None
    if size > limits.xml_bytes:
        raise ExportError(
            where,
            f"refused: {size:,} bytes is more than the {limits.xml_bytes:,} an XML export may have "
            "(set PEERTRAIN_MAX_XML_BYTES to allow more)",
        )
    check_xml_prolog(path)
    try:
        getters = [(field, _compile(expression)) for field, expression in profile.fields.items()]
    except etree.XPathSyntaxError as exc:  # pragma: no cover - the profile checks its XPaths
        raise CatalogError(profile.id, "fields", f"not a valid XPath: {exc}") from None
    try:
        yield from _records(path, profile, getters)
    except etree.XMLSyntaxError as exc:
        number, message = exc.lineno, exc.msg
        errors = exc.error_log.filter_from_errors()
        if not number and errors:  # e.g. "no element found (line 0)": the log has the cause
            number, message = errors[-1].line, errors[-1].message
        line = f" at line {number}" if number else ""
        raise ExportError(where, f"is not well-formed XML{line}: {message}") from None
    except (LookupError, ValueError) as exc:
        raise ExportError(where, f"cannot be read as XML: {exc}") from None
    except OSError as exc:
        raise ExportError(where, f"cannot read the file: {exc.strerror or exc}") from None


def _drop(element: Any) -> None:
    """Free a finished element: empty it and take it out of its parent."""
    parent = element.getparent()
    element.clear()
    if parent is not None:
        parent.remove(element)


def _records(path: Path, profile: Profile, getters: list[tuple[str, _Getter]]) -> Iterator[RawRow]:
    with path.open("rb") as handle:  # closed here, even when the caller stops early
        context = etree.iterparse(
            handle,
            events=("start", "end"),
            resolve_entities=False,
            no_network=True,
            load_dtd=False,
            huge_tree=False,
            remove_comments=True,
            remove_pis=True,
            encoding=None if profile.encoding == "auto" else profile.encoding,
        )
        yield from _walk(context, shown(path), profile, getters)


def _walk(context: Any, where: str, profile: Profile, getters: list[tuple[str, _Getter]]) -> Iterator[RawRow]:
    name = Path(where).name
    steps = [_local(step.rpartition(":")[2]) for step in (profile.record_path or "").strip("/").split("/")]
    level = len(steps)  # the depth of record elements; the root is at depth 1
    kept = _kept_siblings(profile)
    on_path = [True]  # on_path[d]: the open element at depth d matches record_path so far
    depth = number = 0
    for event, element in context:
        if event == "start":
            depth += 1
            if depth == 1:
                info = element.getroottree().docinfo
                if info.doctype or info.internalDTD is not None or info.externalDTD is not None:
                    raise ExportError(where, _DOCTYPE)
            matches = depth <= level and on_path[depth - 1] and _local(element.tag) == steps[depth - 1]
            if len(on_path) > depth:
                on_path[depth] = matches
            else:
                on_path.append(matches)
            continue
        if depth == level and on_path[depth]:
            number += 1
            try:
                values = {field: get(element) for field, get in getters}
            except etree.XPathError as exc:
                raise ExportError(where, f"cannot evaluate the profile's XPaths: {exc}", row=number) from None
            _drop(element)
            if any(value is not None and value.strip() for value in values.values()):
                yield RawRow(name, number, values, tuple(value or "" for value in values.values()))
        elif depth < level or (depth == level and kept is not None and _local(element.tag) not in kept):
            _drop(element)
        depth -= 1
