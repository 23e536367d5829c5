"""The poppler command-line tools on a PDF file: what an inspector without the application can read from it."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path


def run(*args: str | Path) -> str:
    """The stdout of a poppler tool; a failing tool fails the test."""
    done = subprocess.run([str(a) for a in args], capture_output=True, text=True, check=True)
    return done.stdout


def write(folder: Path, name: str, pdf: bytes) -> Path:
    path = folder / name
    path.write_bytes(pdf)
    return path


def page_count(path: Path) -> int:
    found = re.search(r"^Pages:\s+(\d+)$", run("pdfinfo", path), re.MULTILINE)
    assert found, "pdfinfo names the page count"
    return int(found.group(1))


def page_texts(path: Path) -> list[str]:
    """pdftotext -layout, one string per page."""
    return [run("pdftotext", "-layout", "-f", str(n), "-l", str(n), path, "-") for n in range(1, page_count(path) + 1)]


def text(path: Path) -> str:
    """The whole document's text, whitespace collapsed (line and page breaks become one space)."""
    return squeeze(run("pdftotext", "-layout", path, "-"))


def squeeze(raw: str) -> str:
    return " ".join(raw.split())


def fonts(path: Path) -> list[tuple[str, str]]:
    """(font name, embedded yes/no) per font, from pdffonts; emb is the fifth column from the end."""
    lines = run("pdffonts", path).splitlines()[2:]  # two header lines
    return [(line.split()[0], line.split()[-5]) for line in lines if line.strip()]


def xmp(path: Path) -> str:
    return run("pdfinfo", "-meta", path)


def info(path: Path) -> str:
    return run("pdfinfo", path)


def attachments(path: Path, folder: Path) -> dict[str, bytes]:
    """Every embedded file by name, saved with pdfdetach."""
    names = [line.split(": ", 1)[1] for line in run("pdfdetach", "-list", path).splitlines()[1:] if ": " in line]
    folder.mkdir(parents=True, exist_ok=True)
    run("pdfdetach", "-saveall", "-o", folder, path)
    return {name: (folder / name).read_bytes() for name in names}
