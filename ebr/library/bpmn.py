"""What the library needs from a BPMN file, read safely: process ids, call activities, forms and equipment used.

lxml parses with no DTD, no entity expansion and no network; a file with a DOCTYPE is refused outright, so entity
tricks (billion laughs, external entities) never reach the parser's entity machinery.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from lxml import etree  # type: ignore[import-untyped]

from ebr.library.errors import ContentInvalid, refuse

BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
SPIFF = "http://spiffworkflow.org/bpmn/schema/1.0/core"
FORM = "ebr:form"
EQUIPMENT = "ebr:equipment"
BATCH_SIZE = "ebr:batchSize"  # on the process: the nominal batch size the master's quantities are written for
_DECLARED_ENCODING = re.compile(r"""\s*<\?xml[^>]*?\bencoding\s*=\s*["']([^"']*)["']""")
SAFE_ID = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]{0,127}")  # usable as a file or folder name


@dataclass(frozen=True)
class Reference:
    """One element of the BPMN naming something outside itself: a called process, a form, an equipment class."""

    element_id: str
    value: str


@dataclass(frozen=True)
class Process:
    """A bpmn:process of the file."""

    id: str
    name: str
    executable: bool


@dataclass(frozen=True)
class BpmnFile:
    """The facts of one BPMN file the library uses to build and check a bundle."""

    path: str
    processes: tuple[Process, ...]
    calls: tuple[Reference, ...]
    forms: tuple[Reference, ...]
    equipment: tuple[Reference, ...]
    batch_sizes: tuple[Reference, ...] = ()

    def main(self) -> Process:
        """The procedure's process: the only one, or the only executable one."""
        if len(self.processes) == 1:
            return self.processes[0]
        executable = [process for process in self.processes if process.executable]
        if len(executable) == 1:
            return executable[0]
        ids = ", ".join(process.id for process in self.processes)
        raise refuse(self.path, f"holds several processes ({ids}) and not exactly one marked isExecutable")


def _parser() -> Any:
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_blank_text=False,
    )


def read(path: str, content: bytes) -> BpmnFile:
    """Parse one BPMN file; raises ContentInvalid (an InvalidInput) naming the file and what is wrong."""
    _check_text(path, content)
    try:
        root = etree.fromstring(content, _parser())
    except etree.XMLSyntaxError as exc:
        raise refuse(path, f"is not well-formed XML: {exc.msg}") from None
    except ValueError as exc:  # lxml's other refusals of the input
        raise refuse(path, f"is not well-formed XML: {exc}") from None
    docinfo = root.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None or docinfo.externalDTD is not None:
        raise refuse(path, "a DTD (<!DOCTYPE> or <!ENTITY>) is not allowed in a BPMN file")
    if root.tag != f"{{{BPMN}}}definitions":
        raise refuse(path, f"is not BPMN 2.0: the root element is {_name(root.tag)}, not bpmn:definitions ({BPMN})")
    processes = tuple(
        Process(str(p.get("id", "")), str(p.get("name") or p.get("id", "")), p.get("isExecutable") == "true")
        for p in root.iter(f"{{{BPMN}}}process")
    )
    if not processes:
        raise refuse(path, "is BPMN but holds no bpmn:process")
    missing = [p for p in processes if not p.id]
    if missing:
        raise refuse(path, "a bpmn:process has no id")
    calls = tuple(
        Reference(str(c.get("id", "")), str(c.get("calledElement", ""))) for c in root.iter(f"{{{BPMN}}}callActivity")
    )
    properties = _properties(root)
    return BpmnFile(
        path=path,
        processes=processes,
        calls=calls,
        forms=tuple(ref for name, ref in properties if name == FORM),
        equipment=tuple(ref for name, ref in properties if name == EQUIPMENT),
        batch_sizes=tuple(ref for name, ref in properties if name == BATCH_SIZE),
    )


def _check_text(path: str, content: bytes) -> None:
    """UTF-8 only (what every modeler saves), so that a DTD cannot hide in another encoding; no DTD at all."""
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise refuse(path, f"is not well-formed XML: not UTF-8 text (byte {exc.start})") from None
    if "\x00" in text:
        raise refuse(path, "is not well-formed XML: it contains NUL characters")
    declared = _DECLARED_ENCODING.match(text)
    if declared and declared.group(1).lower().replace("_", "-") not in ("utf-8", "utf8"):
        raise refuse(path, f"declares the encoding {declared.group(1)!r}; BPMN files must be UTF-8")
    if "<!DOCTYPE" in text or "<!ENTITY" in text:
        raise refuse(path, "a DTD (<!DOCTYPE> or <!ENTITY>) is not allowed in a BPMN file")


def _properties(root: Any) -> list[tuple[str, Reference]]:
    """(name, reference) of every spiffworkflow:property, the reference naming the element that carries it."""
    found = []
    for prop in root.iter(f"{{{SPIFF}}}property"):
        owner = next(
            (a for a in prop.iterancestors() if a.get("id") and a.tag != f"{{{BPMN}}}extensionElements"),
            None,
        )
        element_id = str(owner.get("id")) if owner is not None else "(unknown element)"
        found.append((str(prop.get("name", "")), Reference(element_id, str(prop.get("value", "")).strip())))
    return found


def _name(tag: object) -> str:
    return str(tag).rsplit("}", 1)[-1] if isinstance(tag, str) else "not an element"


def try_read(path: str, content: bytes) -> BpmnFile | ContentInvalid:
    """The file, or the refusal explaining why it cannot be read."""
    try:
        return read(path, content)
    except ContentInvalid as exc:
        return exc
