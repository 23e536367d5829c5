"""The SpiffWorkflow 3.2.0 workarounds of ENGINE-NOTES §8.1, in one place.

- Finding 2: child task data is a shallow copy, so a later change of a nested value rewrites completed tasks' data.
  `install()` makes the library's merge deep-copy again.
- Finding 1: the task iterator stops at depth 1000 and the workflow then claims to be complete. `check_depth` fails
  loudly at 900 instead, before and after engine steps.
- Finding 6: timers are refreshed only at the end of `do_engine_steps`. `advance` refreshes them first.
- Finding 4 (call_service) is fixed in `scripting`.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from SpiffWorkflow.util import deep_merge
from SpiffWorkflow.util.task import TaskState

from ebr.domain.errors import DomainError

MAX_DEPTH = 900


class DepthExceeded(DomainError):
    """A task tree grew to the depth where SpiffWorkflow 3.2.0 would silently stop seeing tasks."""

    def __init__(self, task: Any) -> None:
        self.element = task.task_spec.bpmn_id or task.task_spec.name
        super().__init__(
            f"the task tree is {task.depth} deep here (limit {MAX_DEPTH}): a loop ran too often; "
            "bound it tighter or move the repeated part into a call activity"
        )


def install() -> None:
    """Deep-copy merged task data (finding 2); idempotent."""
    deep_merge.copy = copy.deepcopy


def _deepest_unfinished(workflow: Any) -> tuple[int, Any]:
    """The greatest depth of an unfinished task in this (sub)workflow's tree, and that task; memoised, O(tasks)."""
    depth: dict[Any, int] = {}
    deepest, where = 0, None
    for task in workflow.tasks.values():
        if task.has_state(TaskState.FINISHED_MASK):
            continue
        chain = []
        node = task
        while node is not None and node.id not in depth:
            chain.append(node)
            node = node.parent
        known = depth[node.id] if node is not None else -1
        for member in reversed(chain):
            known += 1
            depth[member.id] = known
        if depth[task.id] > deepest:
            deepest, where = depth[task.id], task
    return deepest, where


def check_depth(workflow: Any) -> None:
    """Fail loudly when any unfinished task of the workflow or its subprocesses is 900 deep (finding 1)."""
    for tree in (workflow, *workflow.subprocesses.values()):
        deepest, task = _deepest_unfinished(tree)
        if deepest >= MAX_DEPTH:
            raise DepthExceeded(task)


def guard_task(task: Any) -> None:
    """A will_complete_task callback: stop an engine-only loop before it reaches the iterator's limit."""
    if task.depth >= MAX_DEPTH:
        raise DepthExceeded(task)


def advance(workflow: Any, did_complete_task: Callable[[Any], None] | None = None) -> None:
    """Fire due timers, then run every engine task (gateways, scripts, events) until people or time are needed."""
    check_depth(workflow)
    workflow.refresh_timers()
    workflow.do_engine_steps(will_complete_task=guard_task, did_complete_task=did_complete_task)
    check_depth(workflow)
