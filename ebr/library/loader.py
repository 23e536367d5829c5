"""FolderLibrary: the plant's controlled folders (workflows/, forms/, equipment/, reports/) turned into bundles.

A bundle holds, under the same relative paths as in the library:

    workflows/<procedure>/procedure.bpmn      the procedure (an upload is stored under its process id)
    workflows/common/<name>.bpmn              every sub-procedure reached through call activities, transitively
    forms/<id>.json                           every form named by an ebr:form property of an included BPMN
    equipment/classes/<id>.toml               every class named by ebr:equipment or by a form field's source
    reports/batch_record/**                   the batch-record template, when the library has one

Forms and equipment are parsed from the bundle's bytes only; the disk is read when a bundle is built, never after.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path, PurePosixPath

from ebr.app.ports import LintProblem
from ebr.domain.errors import NotFound
from ebr.domain.procedure import ProcedureBundle
from ebr.domain.scaling import NominalBatch
from ebr.domain.steps import EquipmentClass, FieldDefinition, FormDefinition
from ebr.library import batch_size, bpmn, equipment, forms
from ebr.library.errors import ContentInvalid, refuse

WORKFLOWS = "workflows"
COMMON = f"{WORKFLOWS}/common"
PROCEDURE_FILE = "procedure.bpmn"
REPORT = "reports/batch_record"
MAX_UPLOAD_BYTES = 5 * 1024 * 1024
CONTENT_ID = re.compile(r"[a-z][a-z0-9_]{0,63}")  # form and equipment class ids (the schemas' identifier)


class FolderLibrary:
    """Implements ports.ProcedureLibrary over a library folder (EBR_LIBRARY_DIR)."""

    def __init__(self, library_dir: Path) -> None:
        self._root = library_dir

    # --- procedures -----------------------------------------------------------------------------------------

    def procedure_ids(self) -> list[str]:
        """The process ids of workflows/<procedure>/procedure.bpmn; unreadable files are left out."""
        return sorted(self._index()[0])

    def bundle(self, procedure_id: str) -> ProcedureBundle:
        """The bundle of a procedure as the library holds it now."""
        found, broken = self._index()
        if procedure_id in broken:
            raise broken[procedure_id]
        if procedure_id in found:
            path = found[procedure_id]
            return self._build(path, self._bytes(path) or b"")
        raise NotFound(f"The library has no procedure '{procedure_id}'.")

    def bundle_from_upload(self, filename: str, content: bytes) -> ProcedureBundle:
        """A bundle around an uploaded BPMN file, with the library's sub-procedures, forms and equipment."""
        name = PurePosixPath(filename.replace("\\", "/")).name or "upload"
        if not name.lower().endswith(".bpmn"):
            raise refuse(name, "only .bpmn files can be imported")
        if len(content) > MAX_UPLOAD_BYTES:
            raise refuse(name, f"is {len(content):,} bytes; the limit is 5 MB ({MAX_UPLOAD_BYTES:,} bytes)")
        if not content.strip():
            raise refuse(name, "is empty")
        process = bpmn.read(name, content).main()
        if not bpmn.SAFE_ID.fullmatch(process.id):
            raise refuse(name, f"the process id {process.id!r} cannot name a procedure (letters, digits, _ . -)")
        return self._build(f"{WORKFLOWS}/{process.id}/{PROCEDURE_FILE}", content, name)

    # --- definitions, parsed from the bundle's bytes --------------------------------------------------------

    def forms(self, bundle: ProcedureBundle) -> dict[str, FormDefinition]:
        """The bundle's forms by id; a form that fails its checks is left out (problems() names it)."""
        found = {}
        for path, content in _files_in(bundle.files, forms.FOLDER, ".json"):
            try:
                form = forms.read(path, content)
            except ContentInvalid:
                continue
            found[form.id] = form
        return found

    def equipment(self, bundle: ProcedureBundle) -> dict[str, EquipmentClass]:
        """The bundle's equipment classes by id; a class that fails its checks is left out (problems() names it)."""
        found = {}
        for path, content in _files_in(bundle.files, equipment.FOLDER, ".toml"):
            try:
                equipment_class = equipment.read(path, content)
            except ContentInvalid:
                continue
            found[equipment_class.id] = equipment_class
        return found

    def problems(self, bundle: ProcedureBundle) -> list[LintProblem]:
        """Unreadable files, schema problems of forms and equipment, and referenced files the bundle lacks."""
        return list(dict.fromkeys(_problems(bundle.files) + batch_size.problems(bundle)))

    def nominal_batch(self, bundle: ProcedureBundle) -> NominalBatch | None:
        """The batch size the master's scaled quantities are written for (ebr:batchSize on the process)."""
        return batch_size.nominal_batch(bundle)

    # --- building -------------------------------------------------------------------------------------------

    def _build(self, main_path: str, content: bytes, shown_as: str | None = None) -> ProcedureBundle:
        main = bpmn.read(shown_as or main_path, content)
        process = main.main()
        files: dict[str, bytes] = {main_path: content}
        included = [main]
        self._add_called(files, included)
        for form_id in dict.fromkeys(ref.value for f in included for ref in f.forms):
            self._add(files, forms.path_of(form_id), form_id)
        classes = [ref.value for f in included for ref in f.equipment]
        classes += [c for path, raw in _files_in(files, forms.FOLDER, ".json") for c in forms.sources(raw)]
        for class_id in dict.fromkeys(classes):
            self._add(files, equipment.path_of(class_id), class_id)
        for path in self._report_files():
            self._add(files, path, None)
        return ProcedureBundle.of(process.id, process.name, files)

    def _add_called(self, files: dict[str, bytes], included: list[bpmn.BpmnFile]) -> None:
        """Add the common sub-procedures the included files call, and those they call in turn."""
        common = self._common()
        queue = list(included)
        while queue:
            current = queue.pop(0)
            defined = {p.id for f in included for p in f.processes}
            for call in current.calls:
                if call.value in defined or call.value not in common:
                    continue
                path, content, parsed = common[call.value]
                files[path] = content
                if isinstance(parsed, bpmn.BpmnFile):
                    included.append(parsed)
                    queue.append(parsed)
                    defined |= {p.id for p in parsed.processes}
                else:  # an unreadable file named after the called process: problems() reports why
                    defined.add(call.value)

    def _add(self, files: dict[str, bytes], path: str, content_id: str | None) -> None:
        if content_id is not None and not CONTENT_ID.fullmatch(content_id):
            return  # never used as a path; problems() reports the bad reference
        content = self._bytes(path)
        if content is not None:
            files[path] = content

    def _common(self) -> dict[str, tuple[str, bytes, bpmn.BpmnFile | ContentInvalid]]:
        """workflows/common/*.bpmn by the process ids they define; an unreadable one under its file name."""
        found: dict[str, tuple[str, bytes, bpmn.BpmnFile | ContentInvalid]] = {}
        for path in self._list(COMMON, "*.bpmn"):
            content = self._bytes(path) or b""
            parsed = bpmn.try_read(path, content)
            if isinstance(parsed, ContentInvalid):
                found.setdefault(PurePosixPath(path).stem, (path, content, parsed))
                continue
            for process in parsed.processes:
                found.setdefault(process.id, (path, content, parsed))
        return found

    def _index(self) -> tuple[dict[str, str], dict[str, ContentInvalid]]:
        """Readable procedures by process id; unreadable ones by folder name, clashing ids by id, with the reason."""
        found: dict[str, list[str]] = {}
        broken: dict[str, ContentInvalid] = {}
        for path in self._list(WORKFLOWS, f"*/{PROCEDURE_FILE}"):
            folder = PurePosixPath(path).parent.name
            if folder == "common":
                continue
            try:
                process = bpmn.read(path, self._bytes(path) or b"").main()
            except ContentInvalid as exc:
                broken[folder] = exc
                continue
            found.setdefault(process.id, []).append(path)
        for process_id, paths in found.items():
            if len(paths) > 1:
                broken[process_id] = refuse(paths[1], f"the process id {process_id!r} is used by {paths[0]} too")
        return {process_id: paths[0] for process_id, paths in found.items() if len(paths) == 1}, broken

    def _report_files(self) -> list[str]:
        return self._list(REPORT, "**/*")

    # --- the disk -------------------------------------------------------------------------------------------

    def _list(self, folder: str, pattern: str) -> list[str]:
        """Relative paths of the regular files under a library folder, never following a link out of it."""
        base = self._root / folder
        if not base.is_dir():
            return []
        found = []
        for path in base.glob(pattern):
            relative = path.relative_to(self._root)
            hidden = any(part.startswith(".") for part in relative.parts)
            if not hidden and self._inside(path) and path.is_file():
                found.append(relative.as_posix())
        return sorted(found)

    def _bytes(self, relative: str) -> bytes | None:
        path = self._root / relative
        if not self._inside(path) or not path.is_file():
            return None
        return path.read_bytes()

    def _inside(self, path: Path) -> bool:
        return not path.is_symlink() and path.resolve().is_relative_to(self._root.resolve())


def _files_in(files: Mapping[str, bytes], folder: str, suffix: str) -> Iterator[tuple[str, bytes]]:
    for path in sorted(files):
        if path.startswith(folder + "/") and path.endswith(suffix) and path.count("/") == folder.count("/") + 1:
            yield path, files[path]


def _problems(files: Mapping[str, bytes]) -> list[LintProblem]:
    found: list[LintProblem] = []
    parsed: list[bpmn.BpmnFile] = []
    for path in sorted(p for p in files if p.endswith(".bpmn")):
        result = bpmn.try_read(path, files[path])
        if isinstance(result, ContentInvalid):
            found.extend(result.problems)
        else:
            parsed.append(result)
    defined = {p.id for f in parsed for p in f.processes}
    for f in parsed:
        for call in f.calls:
            if not call.value:
                found.append(LintProblem(call.element_id, "the call activity names no calledElement"))
            elif call.value not in defined:
                found.append(LintProblem(call.element_id, f"calls process {call.value!r}, which is not in {COMMON}/"))
        found.extend(_missing(f.forms, "ebr:form", forms.path_of, files))
        found.extend(_missing(f.equipment, "ebr:equipment", equipment.path_of, files))
    for path, content in _files_in(files, forms.FOLDER, ".json"):
        found.extend(forms.problems(path, content))
    for path, content in _files_in(files, equipment.FOLDER, ".toml"):
        found.extend(equipment.problems(path, content))
    found.extend(_source_problems(files))
    return found


def _missing(
    references: tuple[bpmn.Reference, ...], what: str, path_of: Callable[[str], str], files: Mapping[str, bytes]
) -> list[LintProblem]:
    found = []
    for ref in references:
        if not CONTENT_ID.fullmatch(ref.value):
            found.append(LintProblem(ref.element_id, f"{what} {ref.value!r} is not a valid id"))
            continue
        path = path_of(ref.value)
        if path not in files:
            found.append(LintProblem(ref.element_id, f"{what} {ref.value!r}: {path} is not in the library"))
    return found


def _source_problems(files: Mapping[str, bytes]) -> list[LintProblem]:
    """Every device-bound field must name a class of the bundle and a tag of that class."""
    found: list[LintProblem] = []
    classes = {}
    for path, content in _files_in(files, equipment.FOLDER, ".toml"):
        try:
            equipment_class = equipment.read(path, content)
        except ContentInvalid:
            continue
        classes[equipment_class.id] = equipment_class
    for path, content in _files_in(files, forms.FOLDER, ".json"):
        try:
            form = forms.read(path, content)
        except ContentInvalid:
            continue
        for index, field in enumerate(form.fields):
            found.extend(_field_source_problems(path, f"fields[{index}]", field, classes))
    return found


def _field_source_problems(
    path: str, where: str, field: FieldDefinition, classes: Mapping[str, EquipmentClass]
) -> list[LintProblem]:
    """A device-bound field reads an existing tag in its own unit; a scanned class exists in the library."""
    if field.equipment and field.equipment not in classes:
        reason = f"{field.equipment!r}: {equipment.path_of(field.equipment)} is not in the library"
        return [LintProblem(path, f"{where}.equipment: {reason}")]
    if field.source is None:
        return []
    cls = classes.get(field.source.equipment)
    if cls is None:
        reason = f"{field.source.equipment!r}: {equipment.path_of(field.source.equipment)} is not in the library"
        return [LintProblem(path, f"{where}.source.equipment: {reason}")]
    tag = cls.tag(field.source.tag)
    if tag is None:
        return [
            LintProblem(path, f"{where}.source.tag: {field.source.tag!r} is not a tag of equipment class {cls.id!r}")
        ]
    if tag.unit != field.unit:
        reason = (
            f"the tag {cls.id}.{tag.id} reads {tag.unit or 'no unit'!r}, the field is in {field.unit or 'no unit'!r}"
        )
        return [LintProblem(path, f"{where}.unit: {reason}")]
    return []
