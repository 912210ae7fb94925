"""Run a command against a throwaway PostgreSQL server on loopback.

`python tests/postgres/throwaway_server.py [-- COMMAND ...]` installs PostgreSQL from the
Debian packages when its server binaries are missing, creates a cluster in a
temporary directory, starts it on a free loopback port, creates the database,
runs COMMAND (by default the PostgreSQL parity tests) with the `SAAS_KPIS_PG_*`
connection variables of the `postgres` profile target set, and then stops the
server and deletes the cluster, also when the command fails or is interrupted.

PostgreSQL refuses to run as root, so as root the server runs as the system
user `postgres` (created when missing).
"""

from __future__ import annotations

import argparse
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

# The connection variables of the `postgres` profile target and their defaults
# (profiles/profiles.yml holds the same defaults).
CONNECTION_DEFAULTS = {
    "host": ("SAAS_KPIS_PG_HOST", "127.0.0.1"),
    "port": ("SAAS_KPIS_PG_PORT", "5432"),
    "user": ("SAAS_KPIS_PG_USER", "postgres"),
    "password": ("SAAS_KPIS_PG_PASSWORD", ""),
    "dbname": ("SAAS_KPIS_PG_DBNAME", "saas_kpis"),
}
SERVER_BINARIES = ("initdb", "pg_ctl", "postgres")
DEBIAN_BIN_DIRS = "/usr/lib/postgresql/*/bin"
CREATECLUSTER_CONF = Path("/etc/postgresql-common/createcluster.conf")
MAIN_CLUSTER_SETTING = re.compile(r"^#?\s*create_main_cluster\b.*$", re.MULTILINE)
SERVER_USER = "postgres"
DATABASE = "saas_kpis"
PARITY_TESTS = Path(__file__).resolve().parent
DEFAULT_COMMAND = (sys.executable, "-m", "pytest", str(PARITY_TESTS))
# A throwaway cluster needs no durability: skipping fsync makes the build faster.
SERVER_OPTIONS = (
    "-c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off "
    "-c full_page_writes=off -c shared_buffers=256MB -c work_mem=64MB"
)


def connection_parameters() -> dict[str, str]:
    """psycopg2 connection keywords of the `postgres` profile target, from the environment."""
    return {
        key: os.environ.get(name, default) for key, (name, default) in CONNECTION_DEFAULTS.items()
    }


def find_bin_dir() -> Path | None:
    """The directory holding initdb, pg_ctl and postgres: on PATH or Debian's."""
    on_path = [shutil.which(name) for name in SERVER_BINARIES]
    if all(on_path):
        return Path(on_path[0]).resolve().parent
    candidates = sorted(Path("/").glob(DEBIAN_BIN_DIRS.lstrip("/")), reverse=True)
    for candidate in candidates:
        if all((candidate / name).exists() for name in SERVER_BINARIES):
            return candidate
    return None


def install_postgres() -> Path:
    """Install the Debian `postgresql` package unless the server is present."""
    bin_dir = find_bin_dir()
    if bin_dir is not None:
        return bin_dir
    if os.geteuid() != 0:
        sys.exit("PostgreSQL is not installed; run as root or: apt-get install -y postgresql")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    apt_install = ["apt-get", "install", "-y", "--no-install-recommends"]
    subprocess.run(["apt-get", "update"], check=True, env=env)
    # As the official postgres images do: configure postgresql-common first, so
    # that installing the server creates no default cluster on port 5432.
    subprocess.run([*apt_install, "postgresql-common"], check=True, env=env)
    settings = CREATECLUSTER_CONF.read_text()
    CREATECLUSTER_CONF.write_text(MAIN_CLUSTER_SETTING.sub("create_main_cluster = false", settings))
    subprocess.run([*apt_install, "postgresql"], check=True, env=env)
    bin_dir = find_bin_dir()
    if bin_dir is None:
        sys.exit(f"apt-get installed postgresql, but no initdb in {DEBIAN_BIN_DIRS}")
    return bin_dir


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def ensure_server_user() -> None:
    """As root, create the system user that runs the server unless it exists."""
    try:
        pwd.getpwnam(SERVER_USER)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", SERVER_USER], check=True)


def run_as_server_user(command: list[str], check: bool = True) -> None:
    """Run a server command; as root through runuser, since PostgreSQL refuses root."""
    if os.geteuid() == 0:
        command = ["runuser", "-u", SERVER_USER, "--", *command]
    subprocess.run(command, check=check, stdout=subprocess.DEVNULL)


@contextmanager
def throwaway_server(bin_dir: Path) -> Iterator[dict[str, str]]:
    """Start a server in a temporary directory; yield the connection variables."""
    root = Path(tempfile.mkdtemp(prefix="saas_kpis_pg_"))
    if os.geteuid() == 0:
        ensure_server_user()
        shutil.chown(root, user=SERVER_USER)
    data_dir, port = root / "data", free_port()
    initdb = [str(bin_dir / "initdb"), "--pgdata", str(data_dir), "--username", SERVER_USER]
    pg_ctl = [str(bin_dir / "pg_ctl"), "--pgdata", str(data_dir)]
    log_file = root / "server.log"
    start = ["--wait", "--log", str(log_file), "--options", f"-p {port} -k {root} {SERVER_OPTIONS}"]
    createdb = [str(bin_dir / "createdb"), "--host", "127.0.0.1", "--port", str(port)]
    try:
        run_as_server_user([*initdb, "--auth", "trust", "--encoding", "UTF8", "--locale", "C"])
        try:
            run_as_server_user([*pg_ctl, *start, "start"])
        except subprocess.CalledProcessError:
            print(log_file.read_text() if log_file.exists() else "no server log", file=sys.stderr)
            raise
        run_as_server_user([*createdb, "--username", SERVER_USER, DATABASE])
        yield {
            "SAAS_KPIS_PG_HOST": "127.0.0.1",
            "SAAS_KPIS_PG_PORT": str(port),
            "SAAS_KPIS_PG_USER": SERVER_USER,
            "SAAS_KPIS_PG_PASSWORD": "",
            "SAAS_KPIS_PG_DBNAME": DATABASE,
            # For the fault tests, which restart the server under a running build.
            "SAAS_KPIS_PG_DATA_DIR": str(data_dir),
            "SAAS_KPIS_PG_BIN_DIR": str(bin_dir),
        }
    finally:
        if (data_dir / "postmaster.pid").exists():
            run_as_server_user([*pg_ctl, "--mode", "fast", "--wait", "stop"], check=False)
        shutil.rmtree(root, ignore_errors=True)


def stop_on_sigterm(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", nargs="*", help="command to run (default: the parity tests)")
    args = parser.parse_args(argv)
    command = args.command or list(DEFAULT_COMMAND)
    signal.signal(signal.SIGTERM, stop_on_sigterm)
    started_at = time.perf_counter()
    with throwaway_server(install_postgres()) as connection:
        print(f"PostgreSQL on 127.0.0.1:{connection['SAAS_KPIS_PG_PORT']}", flush=True)
        completed = subprocess.run(command, env={**os.environ, **connection}, check=False)
    print(f"PostgreSQL stopped after {time.perf_counter() - started_at:.0f} s", flush=True)
    return completed.returncode


if __name__ == "__main__":
    sys.exit(main())
