"""`python -m saas_kpis.server serve|publish`: the Semantic Layer API server and its publish step.

Settings come from environment variables (see README, "Semantic Layer API server"):
SAAS_KPIS_SL_TOKENS, SAAS_KPIS_SL_HOST, SAAS_KPIS_SL_GRAPHQL_PORT, SAAS_KPIS_SL_FLIGHT_PORT,
SAAS_KPIS_SL_ENVIRONMENT_ID, SAAS_KPIS_SL_CACHE_BYTES, SAAS_KPIS_SERVING_DIR,
SAAS_KPIS_DUCKDB_PATH; with a PostgreSQL build (SAAS_KPIS_TARGET=postgres) also
SAAS_KPIS_SL_PG_POOL_SIZE; the limits (`SAAS_KPIS_SL_<FIELD>` for each field of `limits.Limits`).
Scoped tokens: SAAS_KPIS_SL_TOKEN_FILE (`python -m saas_kpis.server token NAME` makes an entry).
"""

from __future__ import annotations

import argparse
import logging
import os
import secrets
import shutil
import sys
import tempfile
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from saas_kpis.project import DUCKDB_FILE, REPO_ROOT
from saas_kpis.semantic.postgres_warehouse import PoolSettings

if TYPE_CHECKING:
    from saas_kpis.server.auth import TokenCheck
    from saas_kpis.server.snapshots import SnapshotStore

LOOPBACK = ("127.0.0.1", "localhost", "::1")
KEEP_ALIVE_SECONDS = 75


def serving_dir() -> Path:
    return Path(os.environ.get("SAAS_KPIS_SERVING_DIR", REPO_ROOT / "serving"))


def publish_command() -> int:
    from saas_kpis.server.snapshots import PublishError, publish, publish_target
    from saas_kpis.server.warehouse_targets import build_target

    warehouse = Path(os.environ.get("SAAS_KPIS_DUCKDB_PATH", REPO_ROOT / DUCKDB_FILE))
    manifest = REPO_ROOT / "target" / "semantic_manifest.json"
    try:
        built_on = build_target(os.environ.get("SAAS_KPIS_TARGET", "dev"))
        if built_on.adapter == "postgres":
            snapshot = publish_target(built_on, manifest, serving_dir())
        else:
            snapshot = publish(warehouse, manifest, serving_dir())
    except (PublishError, FileNotFoundError, ValueError) as error:
        print(f"publish: {error}", file=sys.stderr)
        return 1
    print(f"published {snapshot.name} to {snapshot.parent}")
    return 0


def tokens_from_environment(generate: bool = True) -> list[str]:
    """The unscoped tokens; with none set (and `generate`), one random token for this run."""
    tokens = [t.strip() for t in os.environ.get("SAAS_KPIS_SL_TOKENS", "").split(",") if t.strip()]
    if not tokens and generate:
        token = secrets.token_urlsafe(24)
        print(
            f"SAAS_KPIS_SL_TOKENS is not set; this run accepts the token: {token}", file=sys.stderr
        )
        tokens = [token]
    return tokens


def postgres_pool_settings(statement_timeout_seconds: float) -> PoolSettings:
    """Connections for snapshots served from PostgreSQL; the statement timeout is the limits'
    (SAAS_KPIS_SL_STATEMENT_TIMEOUT_SECONDS), so both warehouses stop a query at the same time."""
    return PoolSettings(
        size=int(os.environ.get("SAAS_KPIS_SL_PG_POOL_SIZE", "4")),
        statement_timeout_seconds=statement_timeout_seconds,
    )


def token_check_from_environment(store: SnapshotStore) -> TokenCheck:
    """The token check of SAAS_KPIS_SL_TOKENS and SAAS_KPIS_SL_TOKEN_FILE; a bad token file
    raises TokenFileError. The file's names are checked against the snapshot served at start,
    if there is one (a later snapshot without a named metric only narrows the scope)."""
    from saas_kpis.server.auth import TokenCheck, token_sha256
    from saas_kpis.server.token_file import TokenFileError, check_against_layer, load_token_file

    file_name = os.environ.get("SAAS_KPIS_SL_TOKEN_FILE", "").strip()
    if not file_name:
        return TokenCheck(tokens_from_environment())
    path = Path(file_name)
    file_tokens = load_token_file(path)
    snapshot = store.current_or_none()
    if snapshot is not None:
        check_against_layer(path, file_tokens, snapshot.layer)
    plain = tokens_from_environment(generate=False)
    hashes = {token.sha256: token.name for token in file_tokens}
    for token in plain:
        if token_sha256(token) in hashes:
            raise TokenFileError(
                f"{path}: the token of {hashes[token_sha256(token)]} is also in "
                "SAAS_KPIS_SL_TOKENS, which would make it unscoped"
            )
    return TokenCheck(plain, [token.hashed() for token in file_tokens])


def token_command(name: str) -> int:
    from saas_kpis.server.token_file import TokenFileError, new_token_line

    try:
        token, line = new_token_line(name)
    except TokenFileError as error:
        print(f"token: {error}", file=sys.stderr)
        return 2
    print(f"token (give it to its holder; the server keeps only its hash):\n{token}\n")
    print("entry for SAAS_KPIS_SL_TOKEN_FILE (add a scope: metrics, metric_tiers, row_filter):")
    print(line, end="")
    return 0


def cache_bytes_from_environment() -> int:
    from saas_kpis.server.result_cache import DEFAULT_CAPACITY_BYTES

    value = os.environ.get("SAAS_KPIS_SL_CACHE_BYTES", str(DEFAULT_CAPACITY_BYTES))
    if not value.strip().isdigit():
        raise SystemExit(f"SAAS_KPIS_SL_CACHE_BYTES must be a number of bytes, not {value!r}")
    return int(value)


def serve_command() -> int:
    import uvicorn

    from saas_kpis.dashboards.render import Sources
    from saas_kpis.server.adapter import ServedLayer, cached_bytes
    from saas_kpis.server.dashboards import DashboardPages
    from saas_kpis.server.flight import SemanticLayerFlightServer
    from saas_kpis.server.graphql import create_app
    from saas_kpis.server.limits import Limits
    from saas_kpis.server.result_cache import ResultCache
    from saas_kpis.server.snapshots import SnapshotStore
    from saas_kpis.server.token_file import TokenFileError
    from saas_kpis.server.warehouse_targets import PostgresPools

    host = os.environ.get("SAAS_KPIS_SL_HOST", "127.0.0.1")
    if host not in LOOPBACK and os.environ.get("SAAS_KPIS_SL_ALLOW_REMOTE") != "1":
        print(
            f"refusing to listen on {host}: set SAAS_KPIS_SL_ALLOW_REMOTE=1 to allow it",
            file=sys.stderr,
        )
        return 2
    graphql_port = int(os.environ.get("SAAS_KPIS_SL_GRAPHQL_PORT", "8180"))
    flight_port = int(os.environ.get("SAAS_KPIS_SL_FLIGHT_PORT", "8181"))
    environment_id = int(os.environ.get("SAAS_KPIS_SL_ENVIRONMENT_ID", "1"))
    try:
        limits = Limits.from_environment(os.environ)
    except ValueError as error:
        print(f"serve: {error}", file=sys.stderr)
        return 2
    # pyarrow.flight appends the formatted Python traceback of a handler's exception to the
    # error it sends; with no frames the client sees only the exception's message.
    sys.tracebacklimit = 0

    postgres = PostgresPools(postgres_pool_settings(limits.statement_timeout_seconds))
    store = SnapshotStore(serving_dir(), postgres=postgres)
    served = ServedLayer(store, limits, ResultCache(cache_bytes_from_environment(), cached_bytes))
    store.listeners.append(served)  # warms each snapshot's declared saved queries, then serves it
    store.start()
    try:
        tokens = token_check_from_environment(store)
    except TokenFileError as error:
        store.stop()
        print(f"SAAS_KPIS_SL_TOKEN_FILE: {error}", file=sys.stderr)
        return 2
    if store.current_or_none() is None:
        print(
            f"no published build in {serving_dir()} yet; serving as soon as one appears",
            file=sys.stderr,
        )
    pages = DashboardPages(store, Path(tempfile.mkdtemp(prefix="saas-kpis-dashboards-")), Sources())
    pages.start()
    flight_server = SemanticLayerFlightServer(
        f"grpc://{host}:{flight_port}", served, tokens, environment_id
    )
    flight_thread = threading.Thread(target=flight_server.serve, name="flight", daemon=True)
    flight_thread.start()
    print(
        f"GraphQL: http://{host}:{graphql_port}/api/graphql  Flight SQL: grpc://{host}:{flight_port}"
        f"\nDashboards: http://{host}:{graphql_port}/dashboards/ (user: any, password: a token)"
    )
    try:
        uvicorn.run(
            create_app(served, tokens, environment_id, pages),
            host=host,
            port=graphql_port,
            log_level="warning",
            # Longer than any pause of a client between requests on a kept-alive connection:
            # uvicorn's 5 s default closes connections that clients (requests, httpx) are about
            # to reuse, and a POST sent on one as it closes fails with "connection reset".
            timeout_keep_alive=KEEP_ALIVE_SECONDS,
        )
    finally:
        flight_server.shutdown()
        pages.stop()
        shutil.rmtree(pages.root, ignore_errors=True)
        store.stop()
        postgres.close()
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m saas_kpis.server", description=__doc__.splitlines()[0]
    )
    parser.add_argument("command", choices=["serve", "publish", "token"])
    parser.add_argument("name", nargs="?", help="token: the name of the new token-file entry")
    args = parser.parse_args(argv)
    if args.command == "token":
        return token_command(args.name or "new-token")
    # force: an import (dbt's adapters, by way of the PostgreSQL pool) already gave the root
    # logger a handler at WARNING, which would silence the server's own INFO lines.
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s", force=True
    )
    for noisy in ("metricflow", "metricflow_semantics"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    return publish_command() if args.command == "publish" else serve_command()


if __name__ == "__main__":
    sys.exit(main())
