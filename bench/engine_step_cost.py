"""What completing one step costs early and late in a long batch: a table, not a test.

A procedure of UNITS call activities (one per unit procedure) of STEPS user tasks each (10 x 50 = 500 steps by
default), shaped like granulation: each unit runs a few steps, splits into two parallel branches that join, runs the
rest and ends in an exclusive gateway with a deviation branch. Every step submits five fields. Each configuration
runs the whole batch and times every step; the table gives the median per step in three windows, their ratio (late
over early) and the state size. "cold" serializes the state to bytes and restores it on every step, as a request
that misses the cache does. Run from the repository root:

    .venv/bin/python bench/engine_step_cost.py               # all configurations (about two minutes)
    .venv/bin/python bench/engine_step_cost.py --quick       # the facade only
"""

from __future__ import annotations

import argparse
import gc
import itertools
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.serializer.helpers import DefaultRegistry
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
from SpiffWorkflow.spiff.serializer.task_spec import ServiceTaskConverter
from SpiffWorkflow.util.task import TaskState

from ebr.domain.procedure import ProcedureBundle
from ebr.engine import workarounds
from ebr.engine.execution import Execution
from ebr.engine.parser import BundleParser, ParsedBundle
from ebr.engine.scripting import EbrScriptEngine, EbrServiceTask
from ebr.engine.serializer import StateSerializer

NS = (
    'xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
    'xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core"'
)
FIELDS = 5
EARLY, SAME_PLACE, LATE = (5, 15), (455, 465), (490, 500)  # 455-465: where 5-15 is, in the last unit
WINDOWS = (EARLY, (245, 255), SAME_PLACE, LATE)
Step = Callable[[Any], None]  # completes one step of a run in progress, taking the values from `values`


def _user_task(task_id: str, shows_fields: bool) -> str:
    text = " ".join(f"{{{{ {task_id}_f{n} }}}}" for n in range(FIELDS)) if shows_fields else f"Do {task_id}."
    return (
        f'<bpmn:userTask id="{task_id}" name="Step {task_id}"><bpmn:extensionElements><spiffworkflow:properties>'
        f'<spiffworkflow:property name="ebr:form" value="{task_id}" />'
        '<spiffworkflow:property name="ebr:performer" value="operator" /></spiffworkflow:properties>'
        f"<spiffworkflow:instructionsForEndUser>{text}</spiffworkflow:instructionsForEndUser>"
        "</bpmn:extensionElements></bpmn:userTask>"
    )


def _flows(unit: str, chain: list[str], tag: str) -> list[str]:
    return [
        f'<bpmn:sequenceFlow id="{unit}_{tag}{n}" sourceRef="{a}" targetRef="{b}" />'
        for n, (a, b) in enumerate(itertools.pairwise(chain))
    ]


def _unit(unit: str, steps: int, shows_fields: bool) -> str:
    """start → first fifth → parallel (two branches of a fifth) → the rest → gateway → end or deviation → end."""
    ids = [f"{unit}_s{n:02d}" for n in range(steps)]
    fifth = steps // 5
    head, left, right, tail = ids[:fifth], ids[fifth : 2 * fifth], ids[2 * fifth : 3 * fifth], ids[3 * fifth :]
    nodes = [f'<bpmn:startEvent id="{unit}_start" />', *(_user_task(i, shows_fields) for i in ids)]
    nodes += [f'<bpmn:parallelGateway id="{unit}_split" />', f'<bpmn:parallelGateway id="{unit}_join" />']
    nodes += [f'<bpmn:exclusiveGateway id="{unit}_gw" default="{unit}_to_dev" />', f'<bpmn:endEvent id="{unit}_end" />']
    nodes.append(_user_task(f"{unit}_deviation", False))
    flows = _flows(unit, [f"{unit}_start", *head, f"{unit}_split"], "h")
    flows += _flows(unit, [f"{unit}_split", *left, f"{unit}_join"], "l")
    flows += _flows(unit, [f"{unit}_split", *right, f"{unit}_join"], "r")
    flows += _flows(unit, [f"{unit}_join", *tail, f"{unit}_gw"], "t")
    flows.append(
        f'<bpmn:sequenceFlow id="{unit}_ok" sourceRef="{unit}_gw" targetRef="{unit}_end">'
        f"<bpmn:conditionExpression>{ids[-1]}_f0 &gt;= 0</bpmn:conditionExpression></bpmn:sequenceFlow>"
    )
    flows += _flows(unit, [f"{unit}_gw", f"{unit}_deviation", f"{unit}_end"], "d")
    flows[-2] = flows[-2].replace(f'id="{unit}_d0"', f'id="{unit}_to_dev"')
    return f'<bpmn:process id="{unit}" isExecutable="true">{"".join(nodes + flows)}</bpmn:process>'


def procedure(units: int, steps: int, shows_fields: bool = False) -> ProcedureBundle:
    """The bench procedure as a bundle; with shows_fields every field is read by an instruction template."""
    names = [f"u{n:02d}" for n in range(units)]
    calls = [f'<bpmn:callActivity id="call_{u}" calledElement="{u}" />' for u in names]
    chain = ["start", *(f"call_{u}" for u in names), "end"]
    main = ['<bpmn:startEvent id="start" />', *calls, '<bpmn:endEvent id="end" />', *_flows("main", chain, "f")]
    processes = [f'<bpmn:process id="bench" isExecutable="true">{"".join(main)}</bpmn:process>']
    processes += [_unit(u, steps, shows_fields) for u in names]
    xml = f'<bpmn:definitions {NS} id="bench_definitions" targetNamespace="http://example.org/ebr">{"".join(processes)}</bpmn:definitions>'
    return ProcedureBundle.of("bench", "Bench", {"workflows/bench/procedure.bpmn": xml.encode()})


def values(step_id: str) -> dict[str, object]:
    """The five fields a step submits."""
    return {f"{step_id}_f{n}": Decimal(n) + Decimal("0.125") for n in range(FIELDS)}


def run_facade(execution: Execution, bundle: ProcedureBundle) -> Iterator[tuple[float, int]]:
    """Every step through the facade: (seconds, state bytes) per step."""
    advance = execution.start(bundle, {})
    while advance.ready:
        step = advance.ready[0]
        began = time.perf_counter()
        advance = execution.complete(bundle, advance.state, step.key, values(step.step_id))
        yield time.perf_counter() - began, len(advance.state)
    assert advance.completed, "the bench procedure did not finish"


def embedded_serializer() -> BpmnWorkflowSerializer:
    """SpiffWorkflow's default serializer (spec embedded), taught our service task class and Decimal."""
    registry = DefaultRegistry()
    registry.register(Decimal, lambda value: {"value": str(value)}, lambda dct: Decimal(dct["value"]))
    config = dict(SPIFF_CONFIG)
    config[EbrServiceTask] = ServiceTaskConverter
    return BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(config, registry))


def run_unpruned(parsed: ParsedBundle, embedded: bool) -> Iterator[tuple[float, int]]:
    """Load, complete, engine steps, save, with every field in task data and nothing pruned."""
    spiff, ours = embedded_serializer(), StateSerializer()
    workflow = BpmnWorkflow(parsed.spec, dict(parsed.subprocess_specs), script_engine=EbrScriptEngine())
    workarounds.advance(workflow)
    saved = spiff.serialize_json(workflow) if embedded else ours.dumps(workflow)
    while True:
        began = time.perf_counter()
        if embedded:
            workflow = spiff.deserialize_json(saved)
            workflow.script_engine = EbrScriptEngine()
        else:
            workflow = ours.loads(saved, parsed)
        workarounds.advance(workflow)
        ready = workflow.get_tasks(state=TaskState.READY, manual=True)
        if not ready:
            return
        ready[0].set_data(**values(ready[0].task_spec.bpmn_id))
        ready[0].run()
        workarounds.advance(workflow)
        saved = spiff.serialize_json(workflow) if embedded else ours.dumps(workflow)
        yield time.perf_counter() - began, len(saved.encode())


def summarize(name: str, samples: list[tuple[float, int]]) -> dict[str, Any]:
    """Median ms per window, the late/early ratio and the state size in the middle of each window."""
    row: dict[str, Any] = {"name": name, "steps": len(samples)}
    for low, high in WINDOWS:
        window = samples[low - 1 : high]
        row[f"ms {low}-{high}"] = statistics.median(seconds for seconds, _ in window) * 1000 if window else None
        row[f"bytes {(low + high) // 2}"] = samples[(low + high) // 2 - 1][1] if window else None
    first = row[f"ms {EARLY[0]}-{EARLY[1]}"]
    for low, high in (LATE, SAME_PLACE):
        last = row[f"ms {low}-{high}"]
        row[f"ratio {low}-{high}"] = last / first if first and last else None
    row["max ms"] = max(seconds for seconds, _ in samples) * 1000
    return row


def table(rows: list[dict[str, Any]]) -> str:
    """The rows as a Markdown table."""
    columns = list(rows[0])
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for row in rows:
        cells = [_cell(row[column]) for column in columns]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _cell(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.2f}"
    if isinstance(value, int):
        return f"{value:,}"
    return "-" if value is None else str(value)


def measure(name: str, run: Iterator[tuple[float, int]]) -> dict[str, Any]:
    """Run one configuration to the end and summarize it."""
    gc.collect()
    began = time.perf_counter()
    row = summarize(name, list(run))
    print(f"  {name}: {row['steps']} steps in {time.perf_counter() - began:.1f} s", file=sys.stderr)
    return row


def main() -> None:
    """Measure every configuration and print the table."""
    options = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    options.add_argument("--units", type=int, default=10)
    options.add_argument("--steps", type=int, default=50, help="user tasks per unit procedure")
    options.add_argument("--quick", action="store_true", help="skip the unpruned baselines")
    args = options.parse_args()
    workarounds.install()
    bundle, showing = procedure(args.units, args.steps), procedure(args.units, args.steps, shows_fields=True)
    parsed = BundleParser().parse(bundle)
    rows = [
        measure("facade, cold", run_facade(Execution(cache_size=0), bundle)),
        measure("facade, cached", run_facade(Execution(), bundle)),
        measure("facade, cold, all 5 fields read by the procedure", run_facade(Execution(cache_size=0), showing)),
    ]
    if not args.quick:
        rows.append(measure("unpruned, spec by reference", run_unpruned(parsed, embedded=False)))
        rows.append(measure("naive: default serializer, spec embedded", run_unpruned(parsed, embedded=True)))
    print(f"{args.units} call activities x {args.steps} user tasks, {FIELDS} fields per step; ms = median per step")
    print(table(rows))
    print(verdict(rows))


def verdict(rows: list[dict[str, Any]]) -> str:
    """The goals (late/early ratio at most 1.2 cold, at most 15 ms per step) and the gain over the naive baseline."""
    cold, late = rows[0], f"ms {LATE[0]}-{LATE[1]}"
    worst = max(cold[f"ms {low}-{high}"] for low, high in WINDOWS if cold[f"ms {low}-{high}"] is not None)
    ratio = cold[f"ratio {LATE[0]}-{LATE[1]}"]
    lines = [
        f"cold ratio {LATE[0]}-{LATE[1]} / {EARLY[0]}-{EARLY[1]}: {_cell(ratio)} (goal <= 1.2: "
        f"{'met' if ratio is not None and ratio <= 1.2 else 'NOT met'})",
        f"cold worst window median: {worst:.2f} ms (goal <= 15 ms: {'met' if worst <= 15 else 'NOT met'})",
    ]
    naive = rows[-1] if rows[-1]["name"].startswith("naive") else None
    if naive is not None and cold[late] and naive[late]:
        lines.append(
            f"steps {LATE[0]}-{LATE[1]}: naive {naive[late]:.1f} ms, facade cold {cold[late]:.2f} ms "
            f"({naive[late] / cold[late]:.0f}x less)"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
