"""Replay the SQL that dbt executed in a build, bare, in one DuckDB process.

dbt's JSON debug log (``--log-format-file json``, written at debug level by default) records
every statement that dbt sent to DuckDB (`SQLQuery` events): the on-run-start hook's queries,
each model's DDL and DML with its hooks, renames and drops, each data test's and unit test's
queries, and dbt's own catalog look-ups. ``executed_statements`` reads them back in the order
dbt ran the nodes; ``replay`` runs them one after the other on a fresh DuckDB file with the
profile's DuckDB settings. The benchmark compares its wall time with dbt's to show what dbt
itself costs around the SQL::

    python -m saas_kpis.bench.replay --log dbt.log --database bare/saas_kpis.duckdb \\
        --setting memory_limit=6GB --setting threads=2 --out replay.json

The fresh file must have the name of dbt's (its catalog name), since the SQL names it.
"""

from __future__ import annotations

import argparse
import json
import re
import time
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path

import duckdb
import jinja2
import yaml

# Statements outside any node (schema creation, dbt's catalog look-ups) are grouped under the
# connection that ran them, with this kind.
DBT_KIND = "dbt"
LEADING_COMMENT = re.compile(r"^\s*(/\*.*?\*/\s*)*", re.S)


@dataclass(frozen=True)
class Statement:
    """One statement dbt executed, and the node (or dbt connection) that executed it."""

    group: str  # a node's unique_id, or the name of dbt's connection outside any node
    kind: str  # model, test, unit_test, operation (a project hook) or "dbt"
    sql: str


@dataclass(frozen=True)
class GroupTime:
    """The bare wall time of one node's statements."""

    group: str
    kind: str
    statements: int
    seconds: float


def invocation_events(log: Path, invocation_id: str | None = None) -> list[dict]:
    """The JSON events of one dbt invocation in a log file (the last one when no id is given)."""
    events = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    if invocation_id is None and events:
        invocation_id = events[-1]["info"].get("invocation_id")
    return [e for e in events if e["info"].get("invocation_id") == invocation_id]


def executed_statements(events: Iterable[dict]) -> list[Statement]:
    """The SQL of `SQLQuery` events, each node's statements together, the nodes in the order
    in which they started (so a node follows every node it depends on, as dbt ran them with
    several threads)."""
    groups: dict[str, list[Statement]] = {}
    for event in events:
        if event["info"]["name"] != "SQLQuery":
            continue
        data = event["data"]
        node = (data.get("node_info") or {}).get("unique_id")
        group = node or data["conn_name"]
        kind = node.split(".")[0] if node else DBT_KIND
        groups.setdefault(group, []).append(Statement(group, kind, data["sql"]))
    return [statement for statements in groups.values() for statement in statements]


def first_keyword(sql: str) -> str:
    """The statement's first keyword, after dbt's query comment."""
    rest = LEADING_COMMENT.sub("", sql, count=1).split(None, 1)
    return rest[0].lower().rstrip(";") if rest else ""


def replay(
    statements: list[Statement],
    database: Path,
    settings: Mapping[str, str],
    config_options: Mapping[str, str] | None = None,
) -> list[GroupTime]:
    """Run the statements on `database` in one connection opened with the profile's
    `config_options` (the storage format of a new file among them, which sets how much its
    writes cost) and its settings (set as dbt-duckdb sets them on its cursors); the wall time of
    each node's statements.

    dbt rolls back a node's transaction that is still open when the node ends (a data test's
    `BEGIN` has no `COMMIT`), so the replay does too."""
    times: list[GroupTime] = []
    with duckdb.connect(str(database), config=dict(config_options or {})) as con:
        for key, value in settings.items():
            escaped = value.replace("'", "''")
            con.execute(f"SET {key} = '{escaped}'")
        index = 0
        while index < len(statements):
            group = statements[index].group
            in_transaction = False
            count = 0
            start = time.perf_counter()
            while index < len(statements) and statements[index].group == group:
                sql = statements[index].sql
                cursor = con.execute(sql)
                if cursor.description is not None:
                    cursor.fetchall()
                keyword = first_keyword(sql)
                if keyword in ("begin", "commit", "rollback"):
                    in_transaction = keyword == "begin"
                index += 1
                count += 1
            if in_transaction:
                con.execute("rollback")
            seconds = time.perf_counter() - start
            times.append(GroupTime(group, statements[index - 1].kind, count, seconds))
    return times


def profile_settings(
    profiles_dir: Path, env: Mapping[str, str], section: str = "settings"
) -> dict[str, str]:
    """The DuckDB `settings` (or another section, such as `config_options`) of the profile
    target that `env` selects, rendered as dbt renders them (`env_var`), as strings."""

    def env_var(name: str, default: str | None = None) -> str:
        if name in env:
            return env[name]
        if default is None:
            raise KeyError(f"env var {name} is not set and has no default in the profile")
        return default

    def render(value: object) -> str:
        if not isinstance(value, str):
            return str(value)
        return jinja2.Template(value).render(env_var=env_var)

    profiles = yaml.safe_load((profiles_dir / "profiles.yml").read_text())
    (profile,) = profiles.values()
    target = render(profile["target"])
    values = profile["outputs"][target].get(section) or {}
    return {key: render(value) for key, value in values.items()}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--log", type=Path, required=True, help="dbt's JSON debug log")
    parser.add_argument("--invocation-id", help="the build's invocation (default: the last)")
    parser.add_argument("--database", type=Path, required=True, help="a fresh DuckDB file")
    parser.add_argument(
        "--setting", action="append", default=[], help="a DuckDB setting, key=value"
    )
    parser.add_argument(
        "--config",
        action="append",
        default=[],
        help="a DuckDB config option of the new file, key=value (storage_compatibility_version)",
    )
    parser.add_argument("--out", type=Path, required=True, help="JSON result file")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    """Replay a build's statements on a fresh file; write each node's seconds."""
    args = parse_args(argv)
    if args.database.exists():
        raise SystemExit(f"{args.database} exists: the replay needs a fresh DuckDB file")
    statements = executed_statements(invocation_events(args.log, args.invocation_id))
    settings = dict(setting.split("=", 1) for setting in args.setting)
    config_options = dict(option.split("=", 1) for option in args.config)
    start = time.perf_counter()
    times = replay(statements, args.database, settings, config_options)
    seconds = time.perf_counter() - start
    args.out.write_text(
        json.dumps(
            {"seconds": seconds, "settings": settings, "groups": [asdict(t) for t in times]},
            indent=1,
        )
    )


if __name__ == "__main__":
    main()
