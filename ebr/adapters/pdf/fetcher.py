"""A URL fetcher that serves only files below allowed folders and files the document embeds: no network, no
file:// escapes."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

EMBEDDED = "embedded:"  # a file the PDF carries as an attachment (a label specimen), shown from its own bytes


class RefusedResource(Exception):
    """A template asked for something outside its asset folders."""


def resolve(url: str, roots: list[Path]) -> Path:
    """The file a URL names, if it lies below one of the roots; RefusedResource otherwise."""
    parsed = urlparse(url)
    if parsed.scheme != "file":
        raise RefusedResource(f"only library assets may be loaded, not {parsed.scheme}: URLs ({url})")
    path = Path(unquote(parsed.path)).resolve()
    if not any(path.is_relative_to(root) for root in roots):
        raise RefusedResource(f"{path.name} is outside the allowed asset folders")
    if not path.is_file():
        raise RefusedResource(f"asset {path.name} does not exist")
    return path


def embedded_file(url: str, embedded: Mapping[str, bytes]) -> tuple[bytes, str]:
    """The bytes and type of a file the document embeds itself, named by an embedded: URL."""
    name = url.removeprefix(EMBEDDED)
    if name not in embedded:
        raise RefusedResource(f"{name[:80]} is not a file this document embeds")
    return embedded[name], _mime(Path(name))


def make_fetcher(allowed_dirs: list[Path], embedded: Mapping[str, bytes] | None = None) -> Any:
    """A WeasyPrint url_fetcher limited to the given folders and to the files the document embeds (embedded:
    URLs); a refused or missing asset stops the rendering (WeasyPrint would otherwise drop it with a logged warning
    and render without it)."""
    from weasyprint.urls import URLFetcher, URLFetcherResponse  # heavy import: only when a PDF is made

    roots = [d.resolve() for d in allowed_dirs]
    files = dict(embedded or {})

    class LibraryFetcher(URLFetcher):  # type: ignore[misc]  # WeasyPrint is untyped
        def fetch(self, url: str, headers: Any = None) -> Any:
            if url.startswith(EMBEDDED):
                content, mime = embedded_file(url, files)
                return URLFetcherResponse(url, content, {"Content-Type": mime})
            path = resolve(url, roots)
            return URLFetcherResponse(url, path.read_bytes(), {"Content-Type": _mime(path)})

    return LibraryFetcher(fail_on_errors=True)


def _mime(path: Path) -> str:
    return {
        ".css": "text/css",
        ".ttf": "font/ttf",
        ".woff2": "font/woff2",
        ".png": "image/png",
        ".jpg": "image/jpeg",
        ".jpeg": "image/jpeg",
        ".svg": "image/svg+xml",
    }.get(path.suffix, "application/octet-stream")
