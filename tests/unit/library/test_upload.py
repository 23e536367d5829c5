"""Uploaded BPMN files: refused with a clear reason before anything is read from them, or bundled like the folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from ebr.domain.errors import InvalidInput
from ebr.library.errors import ContentInvalid
from ebr.library.loader import MAX_UPLOAD_BYTES, FolderLibrary
from tests.unit.library.conftest import HEADER, call, process, user_task

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL">
  <bpmn:process id="lol" name="&lol9;" />
</bpmn:definitions>
"""


def external_entity(target: str) -> bytes:
    return (
        '<?xml version="1.0"?>\n'
        f'<!DOCTYPE d [<!ENTITY xxe SYSTEM "{target}">]>\n'
        '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL">'
        '<bpmn:process id="xxe" name="&xxe;" /></bpmn:definitions>'
    ).encode()


def refusal(library: FolderLibrary, content: bytes, filename: str = "new.bpmn") -> str:
    with pytest.raises(InvalidInput) as refused:
        library.bundle_from_upload(filename, content)
    assert isinstance(refused.value, ContentInvalid)
    assert len(refused.value.problems) == 1
    return str(refused.value)


def snapshot(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_an_upload_is_bundled_under_its_process_id_with_the_library_content(library: FolderLibrary) -> None:
    content = process("weighing_v2", call("clear", "line_clearance"), user_task("w", "weigh", "scale")).encode()
    bundle = library.bundle_from_upload("C:\\Users\\eng\\weighing v2.bpmn", content)
    assert bundle.procedure_id == "weighing_v2"
    assert bundle.files["workflows/weighing_v2/procedure.bpmn"] == content
    assert {
        "workflows/common/line_clearance.bpmn",
        "workflows/common/cleaning_check.bpmn",
        "forms/weigh.json",
        "forms/lc_check.json",
        "equipment/classes/scale.toml",
        "equipment/classes/balance.toml",
    } <= set(bundle.files)
    assert library.problems(bundle) == []


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"this is not XML", "new.bpmn: is not well-formed XML"),
        (b"\x89PNG\r\n\x1a\n\x00\x00", "new.bpmn: is not well-formed XML: not UTF-8 text (byte 0)"),
        (b"<a>\x00</a>", "new.bpmn: is not well-formed XML: it contains NUL characters"),
        ("<a/>".encode("utf-16-le"), "new.bpmn: is not well-formed XML: it contains NUL characters"),
        (b'<?xml version="1.0" encoding="UTF-7"?><a/>', "new.bpmn: declares the encoding 'UTF-7'; BPMN files must"),
        (b"<bpmn:definitions><unclosed>", "new.bpmn: is not well-formed XML"),
        (b"<html><body>hello</body></html>", "new.bpmn: is not BPMN 2.0: the root element is html"),
        (
            b'<definitions xmlns="http://www.omg.org/spec/DMN/20191111/MODEL/" />',
            "new.bpmn: is not BPMN 2.0: the root element is definitions",
        ),
        ((HEADER + "</bpmn:definitions>").encode(), "new.bpmn: is BPMN but holds no bpmn:process"),
        (b"   \n", "new.bpmn: is empty"),
        (BILLION_LAUGHS, "new.bpmn: a DTD (<!DOCTYPE> or <!ENTITY>) is not allowed"),
        (external_entity("file:///etc/passwd"), "new.bpmn: a DTD (<!DOCTYPE> or <!ENTITY>) is not allowed"),
        (external_entity("http://127.0.0.1:9/x"), "new.bpmn: a DTD (<!DOCTYPE> or <!ENTITY>) is not allowed"),
        (
            BILLION_LAUGHS.replace(b'<?xml version="1.0"?>', b'<?xml version="1.0" encoding="UTF-16"?>')
            .decode()
            .encode("utf-16"),
            "new.bpmn: is not well-formed XML: not UTF-8 text",
        ),
        (
            process("two_a")
            .replace("</bpmn:definitions>", '<bpmn:process id="two_b" isExecutable="true" /></bpmn:definitions>')
            .encode(),
            "holds several processes (two_a, two_b) and not exactly one marked isExecutable",
        ),
        (process("../../evil").encode(), "the process id '../../evil' cannot name a procedure"),
    ],
)
def test_bad_uploads_are_refused_and_nothing_is_stored(
    library: FolderLibrary, library_dir: Path, content: bytes, expected: str
) -> None:
    before = snapshot(library_dir)
    assert expected in refusal(library, content)
    assert snapshot(library_dir) == before


def test_an_upload_over_5_mb_is_refused_before_parsing(library: FolderLibrary) -> None:
    content = process("big").encode()
    content = content.replace(b"</bpmn:definitions>", b"<!--" + b"x" * MAX_UPLOAD_BYTES + b"--></bpmn:definitions>")
    assert len(content) > 5 * 1024 * 1024
    assert "big.bpmn: is 5,243," in refusal(library, content, "big.bpmn")
    assert "the limit is 5 MB" in refusal(library, content, "big.bpmn")


def test_an_upload_of_exactly_5_mb_is_accepted(library: FolderLibrary) -> None:
    content = process("big").encode()
    padding = MAX_UPLOAD_BYTES - len(content) - len(b"<!---->")
    content = content.replace(b"</bpmn:definitions>", b"<!--" + b"x" * padding + b"--></bpmn:definitions>")
    assert len(content) == MAX_UPLOAD_BYTES
    assert library.bundle_from_upload("big.bpmn", content).procedure_id == "big"


def test_only_bpmn_files_are_accepted(library: FolderLibrary) -> None:
    assert "procedure.xml: only .bpmn files can be imported" in refusal(library, process("p").encode(), "procedure.xml")


def test_a_file_with_several_processes_uses_the_executable_one(library: FolderLibrary) -> None:
    content = process("main", call("sub_call", "local_sub")).replace(
        "</bpmn:definitions>", '<bpmn:process id="local_sub" isExecutable="false" /></bpmn:definitions>'
    )
    bundle = library.bundle_from_upload("main.bpmn", content.encode())
    assert bundle.procedure_id == "main"
    assert library.problems(bundle) == []  # the call is resolved inside the file
