"""Where the wall time of one dbt invocation goes, from its run_results.json and JSON log.

The phases add up to the wall time of the process:

- start-up and exit: the Python interpreter and imports before dbt's invocation starts, and
  what follows its last event;
- parse: from the invocation's start to dbt's count of the project (`FoundStats`): reading the
  project (partial parsing or not) and writing the manifest;
- set-up: connections, dbt's relation cache and the schemas, up to the first node;
- on-run-start: the project's on-run-start hooks (here `check_raw_data`, whose queries run
  while the hook compiles);
- the nodes, per type: while several run at once (dbt threads), each running node's share of
  the time goes to its type, so the types add up to the wall time of the node phase;
- between nodes: no node running (dbt handing a finished node's result on and starting the
  next);
- finish: from the last node to the end of the command (on-run-end hooks, artifacts).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

PHASES = (
    "start-up and exit",
    "parse",
    "set-up",
    "on-run-start",
    "models",
    "data tests",
    "unit tests",
    "other nodes",
    "between nodes",
    "finish",
)
NODE_PHASE = {"model": "models", "test": "data tests", "unit_test": "unit tests"}


def timestamp(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def node_interval(result: dict) -> tuple[float, float] | None:
    """(start, end) of a run_results node: its compile start to its execution end."""
    stamps = [
        timestamp(t[key])
        for t in result.get("timing", [])
        for key in ("started_at", "completed_at")
    ]
    return (min(stamps), max(stamps)) if stamps else None


def shared_time(intervals: Iterable[tuple[float, float, str]]) -> tuple[dict[str, float], float]:
    """Per label, the wall time of its intervals, an instant shared equally by the intervals
    that cover it; and the time covered by none, between the first start and the last end."""
    boundaries: list[tuple[float, int, str]] = []
    for start, end, label in intervals:
        boundaries += [(start, 1, label), (end, -1, label)]
    boundaries.sort(key=lambda b: (b[0], b[1]))
    shares: dict[str, float] = {}
    idle = 0.0
    running: dict[str, int] = {}
    previous = boundaries[0][0] if boundaries else 0.0
    for instant, step, label in boundaries:
        span = instant - previous
        count = sum(running.values())
        if span > 0:
            if count == 0:
                idle += span
            for name, n in running.items():
                if n:
                    shares[name] = shares.get(name, 0.0) + span * n / count
        running[label] = running.get(label, 0) + step
        previous = instant
    return shares, idle


def parse_mode(events: list[dict]) -> str:
    """How the invocation parsed the project: partially (nothing changed, or some files) or
    in full, with dbt's reason."""
    names = {e["info"]["name"]: e["info"]["msg"] for e in events}
    for name, msg in names.items():
        if name.startswith("UnableToPartialParse"):
            return f"full re-parse: {msg}"
    if "PartialParsingSkipParsing" in names:
        return "partial, nothing changed"
    if "PartialParsingEnabled" in names:
        return f"partial: {names['PartialParsingEnabled']}"
    return "full"


def invocation_phases(
    run_results: dict, events: list[dict], process_seconds: float
) -> dict[str, object]:
    """The phases of one invocation (seconds, adding up to `process_seconds`), and how it
    parsed."""
    started = timestamp(run_results["metadata"]["invocation_started_at"])
    stamps = {e["info"]["name"]: timestamp(e["info"]["ts"]) for e in events}
    ended = stamps.get("CommandCompleted", max(stamps.values(), default=started))
    start_hooks, nodes = [], []
    for result in run_results["results"]:
        interval = node_interval(result)
        kind = result["unique_id"].split(".")[0]
        if interval is None or "on-run-end" in result["unique_id"]:
            continue  # on-run-end hooks count in "finish"
        if kind == "operation":
            start_hooks.append(interval)
        else:
            nodes.append((*interval, NODE_PHASE.get(kind, "other nodes")))
    spans = start_hooks + [(start, end) for start, end, _ in nodes]
    first_node = min((start for start, _ in spans), default=ended)
    last_node = max((end for _, end in spans), default=first_node)
    parsed = min(stamps.get("FoundStats", first_node), first_node)
    shares, _ = shared_time(nodes)
    phases = {
        "start-up and exit": process_seconds - (ended - started),
        "parse": parsed - started,
        "set-up": first_node - parsed,
        "on-run-start": sum(end - start for start, end in start_hooks),
        **{phase: shares.get(phase, 0.0) for phase in (*NODE_PHASE.values(), "other nodes")},
        "finish": ended - last_node,
    }
    # From the first hook or node to the last node, what no hook or node covers is time
    # between nodes.
    covered = phases["on-run-start"] + sum(shares.values())
    phases["between nodes"] = (last_node - first_node) - covered
    return {
        "seconds": {name: round(phases[name], 3) for name in PHASES},
        "wall_seconds": round(process_seconds, 3),
        "parse_mode": parse_mode(events),
    }
