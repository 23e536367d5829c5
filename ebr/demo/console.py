"""The demo's plant console: lines typed in the `ebr demo` terminal put loads on the balance, move values and
inject device faults, so a demo operator sees Capture read what the plant shows and sees each fault's message."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from ebr.adapters.modbus.simulator import SimulatedPlant

HELP = (
    "plant commands: place GROSS [TARE] (balance BAL-01, kg) | set UNIT TAG VALUE (e.g. set 2 product_temp 41.5) | "
    "fail UNIT CODE (Modbus exception, e.g. fail 1 6) | mute UNIT | clear | help"
)


def run_command(plant: SimulatedPlant, line: str) -> str:
    """Apply one command line to the plant; the answer to print. A bad line is answered, never raised."""
    words = line.split()
    if not words:
        return ""
    try:
        return _apply(plant, words[0].lower(), words[1:])
    except (ValueError, ArithmeticError, IndexError) as exc:  # a number that is not one raises InvalidOperation
        return f"not done: {exc or 'missing argument'}. {HELP}"


def _apply(plant: SimulatedPlant, command: str, args: list[str]) -> str:
    if command == "place":
        plant.place(gross=args[0], tare=args[1] if len(args) > 1 else "0")
        return f"balance: gross {args[0]} kg, tare {args[1] if len(args) > 1 else '0'} kg (settling)"
    if command == "set":
        plant.set_value(int(args[0]), args[1], args[2])
        return f"unit {args[0]}: {args[1]} = {args[2]}"
    if command == "fail":
        plant.fail(int(args[0]), int(args[1]))
        return f"unit {args[0]} answers Modbus exception {args[1]} until 'clear'"
    if command == "mute":
        plant.mute(int(args[0]))
        return f"unit {args[0]} stops answering until 'clear'"
    if command == "clear":
        plant.clear_faults()
        return "every unit answers again"
    return HELP


def serve_console(plant: SimulatedPlant, lines: Iterable[str], echo: Callable[[str], None]) -> None:
    """Read commands until the input ends (run on a daemon thread beside the web server)."""
    for line in lines:
        answer = run_command(plant, line)
        if answer:
            echo(answer)
