"""pyHanko's synchronous calls run their own event loop (asyncio.run). A thread that already runs one (an async
server, a browser driver in the same process) cannot start another, so there the call runs on a short-lived thread."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")


def outside_event_loop(call: Callable[[], T]) -> T:
    """The call's result, computed where no event loop is running."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return call()
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="pyhanko") as pool:
        return pool.submit(call).result()
