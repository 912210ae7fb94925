"""`python -m saas_kpis.server serve|publish`: the Semantic Layer API server and its publish step.

Settings come from environment variables (see README, "Semantic Layer API server"):
SAAS_KPIS_SL_TOKENS, SAAS_KPIS_SL_HOST, SAAS_KPIS_SL_GRAPHQL_PORT, SAAS_KPIS_SL_FLIGHT_PORT,
SAAS_KPIS_SL_ENVIRONMENT_ID, SAAS_KPIS_SL_CACHE_BYTES, SAAS_KPIS_SERVING_DIR, SAAS_KPIS_DUCKDB_PATH.
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

from saas_kpis.project import DUCKDB_FILE, REPO_ROOT

LOOPBACK = ("127.0.0.1", "localhost", "::1")


def serving_dir() -> Path:
    return Path(os.environ.get("SAAS_KPIS_SERVING_DIR", REPO_ROOT / "serving"))


def publish_command() -> int:
    from saas_kpis.server.snapshots import PublishError, publish

    warehouse = Path(os.environ.get("SAAS_KPIS_DUCKDB_PATH", REPO_ROOT / DUCKDB_FILE))
    manifest = REPO_ROOT / "target" / "semantic_manifest.json"
    try:
        snapshot = publish(warehouse, manifest, serving_dir())
    except (PublishError, FileNotFoundError) as error:
        print(f"publish: {error}", file=sys.stderr)
        return 1
    print(f"published {snapshot.name} to {snapshot.parent}")
    return 0


def tokens_from_environment() -> list[str]:
    tokens = [t.strip() for t in os.environ.get("SAAS_KPIS_SL_TOKENS", "").split(",") if t.strip()]
    if not tokens:
        token = secrets.token_urlsafe(24)
        print(
            f"SAAS_KPIS_SL_TOKENS is not set; this run accepts the token: {token}", file=sys.stderr
        )
        tokens = [token]
    return tokens


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
    from saas_kpis.server.auth import TokenCheck
    from saas_kpis.server.dashboards import DashboardPages
    from saas_kpis.server.flight import SemanticLayerFlightServer
    from saas_kpis.server.graphql import create_app
    from saas_kpis.server.result_cache import ResultCache
    from saas_kpis.server.snapshots import SnapshotStore

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
    tokens = TokenCheck(tokens_from_environment())
    # pyarrow.flight appends the formatted Python traceback of a handler's exception to the
    # error it sends; with no frames the client sees only the exception's message.
    sys.tracebacklimit = 0

    store = SnapshotStore(serving_dir())
    served = ServedLayer(store, ResultCache(cache_bytes_from_environment(), cached_bytes))
    store.listeners.append(served)  # warms each snapshot's declared saved queries, then serves it
    store.start()
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
        )
    finally:
        flight_server.shutdown()
        pages.stop()
        shutil.rmtree(pages.root, ignore_errors=True)
        store.stop()
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m saas_kpis.server", description=__doc__.splitlines()[0]
    )
    parser.add_argument("command", choices=["serve", "publish"])
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    for noisy in ("metricflow", "metricflow_semantics"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    return publish_command() if args.command == "publish" else serve_command()


if __name__ == "__main__":
    sys.exit(main())
