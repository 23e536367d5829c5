"""Reading B2MML from outside: a hardened parser, the size cap, and validation against the packaged schemas.

Every refusal is a B2mmlInvalid whose message says what was wrong and where: a body over MAX_XML_BYTES, XML that is
not well-formed, any document type declaration (so no entity is ever declared, expanded or fetched: billion laughs
and external entities in UTF-8 are refused before parsing, in other encodings right after), a root element the
caller does not accept, or a schema error naming the line, the element and the schema's complaint. Schemas are
compiled once per transaction file (AllSchemas.xsd does not compile in lxml) and only ever read from this package.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Iterable
from importlib import resources

from lxml import etree  # type: ignore[import-untyped]

from ebr.adapters.batchml.xml import NS
from ebr.domain.errors import InvalidInput

MAX_XML_BYTES = 1024 * 1024  # an order or a master-data message is a few kilobytes; anything near this is refused
MAX_LISTED_ERRORS = 5  # a schema-invalid message names its first few errors, not hundreds
PERFORMANCE_XSD = "B2MML-OperationsPerformance.xsd"
SCHEDULE_XSD = "B2MML-OperationsSchedule.xsd"
MATERIAL_XSD = "B2MML-Material.xsd"
_NS_PREFIX = f"{{{NS}}}"
# A compiled schema keeps its error log on itself: one validation at a time per process reads its own errors.
_VALIDATING = threading.Lock()


class B2mmlInvalid(InvalidInput):
    """A B2MML message was refused; `errors` lists each problem, `codes` the schema error types (lxml's names)."""

    def __init__(self, message: str, errors: Iterable[str] = (), codes: Iterable[str] = ()) -> None:
        super().__init__(message)
        self.errors = tuple(errors)
        self.codes = tuple(codes)


def hardened_parser() -> etree.XMLParser:
    """No DTD, no entity expansion, no network, no huge trees."""
    return etree.XMLParser(
        resolve_entities=False,
        load_dtd=False,
        dtd_validation=False,
        no_network=True,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
    )


def parse_untrusted(xml: bytes, accepted_roots: Iterable[str]) -> etree._Element:
    """The root of a well-formed B2MML document whose root element is one of `accepted_roots` (local names)."""
    if not isinstance(xml, bytes):
        raise B2mmlInvalid("The XML message must be given as bytes.")
    if len(xml) > MAX_XML_BYTES:
        raise B2mmlInvalid(f"The XML message is {len(xml)} bytes; at most {MAX_XML_BYTES} are accepted.")
    if b"<!DOCTYPE" in xml or b"<!ENTITY" in xml:
        raise B2mmlInvalid("The XML message has a document type declaration (DOCTYPE or ENTITY): refused unread.")
    try:
        root = etree.fromstring(xml, hardened_parser())
    except etree.XMLSyntaxError as error:
        raise B2mmlInvalid(f"The XML message is not well-formed: line {error.lineno}: {error.msg}") from None
    docinfo = root.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None:
        # Another encoding (e.g. UTF-16) can hide a declaration from the byte check above.
        raise B2mmlInvalid("The XML message has a document type declaration (DOCTYPE or ENTITY): refused.")
    _check_root(root, tuple(accepted_roots))
    return root


def _check_root(root: etree._Element, accepted: tuple[str, ...]) -> None:
    qname = etree.QName(root)
    if qname.namespace != NS or qname.localname not in accepted:
        found = qname.localname if qname.namespace == NS else f"{{{qname.namespace or ''}}}{qname.localname}"
        raise B2mmlInvalid(f"Unknown root element {found!r}: expected one of {', '.join(accepted)} ({NS}).")


@functools.cache
def schema(filename: str) -> etree.XMLSchema:
    """One transaction schema, compiled once from this package's schemas folder."""
    folder = resources.files("ebr.adapters.batchml").joinpath("schemas")
    with resources.as_file(folder) as path:
        return etree.XMLSchema(etree.parse(str(path / filename), hardened_parser()))


def validate(root: etree._Element, filename: str) -> None:
    """Raise B2mmlInvalid naming the line, the element and the schema's message of each error (first few)."""
    compiled = schema(filename)
    with _VALIDATING:
        if compiled.validate(root):
            return
        log = list(compiled.error_log)
    errors = [f"line {entry.line}: {entry.message.replace(_NS_PREFIX, '')}" for entry in log]
    shown = "; ".join(errors[:MAX_LISTED_ERRORS])
    more = f" (and {len(errors) - MAX_LISTED_ERRORS} more)" if len(errors) > MAX_LISTED_ERRORS else ""
    raise B2mmlInvalid(
        f"The message does not validate against {filename}: {shown}{more}",
        errors,
        (entry.type_name for entry in log),
    )


def local(element: etree._Element) -> str:
    """An element's tag without the B2MML namespace."""
    return str(etree.QName(element).localname)
