"""A URL fetcher that serves only files below allowed folders: no network, no file:// escapes."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse


class RefusedResource(Exception):
    """A template asked for something outside its asset folders."""


def make_fetcher(allowed_dirs: list[Path]) -> Any:
    """A WeasyPrint url_fetcher limited to the given folders."""
    roots = [d.resolve() for d in allowed_dirs]

    def fetch(url: str, *args: Any, **kwargs: Any) -> dict[str, Any]:
        parsed = urlparse(url)
        if parsed.scheme != "file":
            raise RefusedResource(f"only library assets may be loaded, not {parsed.scheme}: URLs")
        path = Path(unquote(parsed.path)).resolve()
        if not any(path.is_relative_to(root) for root in roots):
            raise RefusedResource(f"{path.name} is outside the allowed asset folders")
        return {"string": path.read_bytes(), "mime_type": _mime(path), "redirected_url": url}

    return fetch


def _mime(path: Path) -> str:
    return {
        ".css": "text/css",
        ".ttf": "font/ttf",
        ".woff2": "font/woff2",
        ".png": "image/png",
        ".svg": "image/svg+xml",
    }.get(path.suffix, "application/octet-stream")
