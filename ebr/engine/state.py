"""The engine state of a batch, stored so that completing step 500 costs what completing step 5 does.

The state is only the cursor that says what is ready next; the evidence of work done lives in the app's tables
(ARCHITECTURE, "Engine state and evidence"). Measured with bench/engine_step_cost.py (500 steps in 10 call
activities, figures in bench/README.md), each measure below was needed for a flat cost:

- Spec by reference: a state names its bundle by content hash and its processes by id (`serializer`); the specs
  come from the parsed bundle the batch is pinned to. Alone it halves the cost but leaves it growing.
- Pruning (`prune`): after every step, finished tasks that nothing running needs are dropped, and so are finished
  call-activity subprocesses. SpiffWorkflow finds ready tasks, waiting tasks and joins by walking the task tree,
  so without this every step pays for every step done, in memory as well as in the JSON. Kept: the root, every
  unfinished task and everything below it (a multi-instance task's finished children), the parent of each
  unfinished task (the data it inherits; the token a parallel join or boundary-event join looks for), and each
  workflow's last task (a finishing subprocess hands its data back from it). A kept task hangs from its nearest
  kept ancestor, so the tree stays a tree, its depth stays bounded by the open work, and SpiffWorkflow's
  depth-1000 iterator limit (finding 1) is out of reach between requests.
- Small task data: values reach task data only under names the procedure reads (`exec_routing`); the rest was
  already recorded by the app. Task data is copied from task to task, so a key costs on every step.
- Cache (`StateCache`): loaded workflows kept in process, keyed by bundle hash and the SHA-256 of the state bytes.
  The key is the content, so an entry can only be hit with exactly the bytes it was saved as: the app reads the
  state with its version check from the database and passes it in, so another worker's newer state, or a state
  whose transaction rolled back, simply misses. An entry is taken out while in use and never put back after an
  error, so a half-run workflow is never reused.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from SpiffWorkflow.util.task import TaskState

from ebr.domain.errors import Conflict
from ebr.engine.parser import ParsedBundle
from ebr.engine.serializer import StateSerializer

FORMAT = "ebr-engine-state/1"
_UNFINISHED = TaskState.NOT_FINISHED_MASK
_FINISHED = TaskState.FINISHED_MASK


@dataclass(frozen=True)
class EngineState:
    """One batch's engine cursor: opaque bytes the app stores beside its step records, in the same transaction."""

    value: bytes

    @property
    def digest(self) -> str:
        """SHA-256 of the bytes: the cache key, and a cheap way for the app to see whether the state changed."""
        return hashlib.sha256(self.value).hexdigest()

    def __len__(self) -> int:
        return len(self.value)


@dataclass
class Loaded:
    """A running workflow and what the facade keeps beside it: how often each step became ready."""

    workflow: Any
    visits: dict[str, int]


class StateCodec:
    """EngineState ⇄ Loaded: one JSON header line (format, bundle hash, visits), then the workflow's JSON."""

    def __init__(self) -> None:
        self._serializer = StateSerializer()

    def dumps(self, loaded: Loaded, bundle_hash: str) -> EngineState:
        """The state to store; the specs are named, never embedded."""
        header = json.dumps({"format": FORMAT, "bundle": bundle_hash, "visits": loaded.visits}, sort_keys=True)
        return EngineState(header.encode() + b"\n" + self._serializer.dumps(loaded.workflow).encode())

    def loads(self, state: EngineState, parsed: ParsedBundle, bundle_hash: str) -> Loaded:
        """The workflow on the bundle's specs; refused when the state is not ours or belongs to another bundle."""
        header, _, body = state.value.partition(b"\n")
        try:
            meta = json.loads(header)
        except ValueError:
            meta = None
        if not isinstance(meta, dict) or meta.get("format") != FORMAT or not body:
            raise Conflict("The stored engine state is not in a format this version of the eBR reads.")
        if meta.get("bundle") != bundle_hash:
            raise Conflict("The stored engine state belongs to another procedure version than the one given.")
        workflow = self._serializer.loads(body.decode(), parsed)
        return Loaded(workflow, {str(key): int(count) for key, count in meta.get("visits", {}).items()})


def _trees(workflow: Any) -> Iterator[Any]:
    yield workflow
    yield from workflow.subprocesses.values()


def _owner(workflow: Any, task_id: UUID) -> Any | None:
    """The task with this id in the workflow or any of its subprocesses, without raising."""
    for tree in _trees(workflow):
        if task_id in tree.tasks:
            return tree.tasks[task_id]
    return None


def _drop_subprocesses(workflow: Any) -> None:
    """Forget subprocesses whose call activity is finished (their data went back to it) or no longer exists."""
    dropped = True
    while dropped:
        dropped = False
        for task_id in list(workflow.subprocesses):
            caller = _owner(workflow, task_id)
            returned = workflow.subprocesses[task_id].completed and caller is not None and caller.has_state(_FINISHED)
            if caller is None or returned:
                del workflow.subprocesses[task_id]
                dropped = True


def _kept(tree: Any) -> set[UUID]:
    """The tasks of one (sub)workflow that running work still needs (see the module docstring)."""
    tasks = tree.tasks
    keep = {tree.task_tree.id}
    if tree.last_task is not None and tree.last_task.id in tasks:
        keep.add(tree.last_task.id)
    pending = [task for task in tasks.values() if task.has_state(_UNFINISHED)]
    keep.update(task._parent for task in pending if task._parent in tasks)
    below: set[UUID] = set()
    while pending:
        task = pending.pop()
        if task.id not in below:
            below.add(task.id)
            pending.extend(tasks[child] for child in task._children if child in tasks)
    return keep | below


def _prune_tree(tree: Any) -> int:
    """Drop the finished tasks nothing needs; each kept task hangs from its nearest kept ancestor."""
    tasks = tree.tasks
    keep = _kept(tree)
    if len(keep) == len(tasks):
        return 0
    parents: dict[UUID, UUID | None] = {}
    for task_id in keep:
        parent = tasks[task_id]._parent
        while parent is not None and parent not in keep:
            parent = tasks[parent]._parent
        parents[task_id] = parent
    dropped = [task_id for task_id in tasks if task_id not in keep]
    for task_id in dropped:
        del tasks[task_id]
    for task in tasks.values():
        task._children = [child for child in task._children if child in keep]
    for task_id, parent in parents.items():
        task = tasks[task_id]
        if task._parent != parent:
            task._parent = parent
            if parent is not None:
                tasks[parent]._children.append(task_id)
    return len(dropped)


def prune(workflow: Any) -> int:
    """Drop finished work the engine no longer needs from the workflow and its subprocesses; the tasks dropped."""
    _drop_subprocesses(workflow)
    dropped = sum(_prune_tree(tree) for tree in _trees(workflow))
    events = workflow.event_manager.tasks
    for task_id in [task_id for task_id, task in events.items() if task_id not in task.workflow.tasks]:
        del events[task_id]
    return dropped


class StateCache:
    """Loaded workflows by (bundle hash, state digest), least recently used out first; capacity 0 disables it."""

    def __init__(self, capacity: int = 64) -> None:
        self.capacity = capacity
        self._entries: OrderedDict[tuple[str, str], Loaded] = OrderedDict()
        self._lock = threading.Lock()

    def take(self, key: tuple[str, str]) -> Loaded | None:
        """The entry, removed: whoever takes it owns it until it is put back under its new state's key."""
        with self._lock:
            return self._entries.pop(key, None)

    def put(self, key: tuple[str, str], loaded: Loaded) -> None:
        """Keep a workflow that is exactly the state with this key."""
        if self.capacity <= 0:
            return
        with self._lock:
            self._entries[key] = loaded
            self._entries.move_to_end(key)
            while len(self._entries) > self.capacity:
                self._entries.popitem(last=False)

    def __len__(self) -> int:
        return len(self._entries)
