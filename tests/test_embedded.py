"""The embedded PostgreSQL server: start, DataJoint, security, sharing between processes,
lifetime, and deferring to a server configured for DataJoint."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import psutil
import pytest

try:
    import napari_photon  # noqa: F401
except ImportError:  # not installed: run from the checkout
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

import datajoint as dj  # noqa: E402
import datajoint.instance  # noqa: E402
import datajoint.settings  # noqa: E402

from napari_photon import db  # noqa: E402
from napari_photon.db import EmbeddedPostgres  # noqa: E402
from napari_photon.db import _connect  # noqa: E402

SRC = Path(db.__file__).resolve().parents[2]

psycopg2 = pytest.importorskip("psycopg2")


# --------------------------------------------------------------------------- helpers


def _stop_all_under(root: Path) -> None:
    """Stop every embedded server whose home lies under ``root``."""
    for pid_file in root.rglob("postmaster.pid"):
        home = pid_file.parent.parent
        try:
            EmbeddedPostgres(home).stop()
        except Exception as err:  # last resort: kill the postmaster
            print(f"stop failed for {home}: {err}")
            try:
                pid = int(pid_file.read_text().split()[0])
                psutil.Process(pid).kill()
            except Exception:
                pass


def _child_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJ_", "PG"))}
    env["NAPARI_PHOTON_HOME"] = str(home)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(SRC), os.environ.get("PYTHONPATH")]))
    return env


CHILD_CLIENT = """
import json, sys
from napari_photon.db import EmbeddedPostgres, home
server = EmbeddedPostgres(home())
print(json.dumps(server.ensure_running()), flush=True)
if "--wait" in sys.argv:
    sys.stdin.readline()
"""


def _run_child(code: str, home: Path, *args: str) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [sys.executable, "-c", code, *args],
        env=_child_env(home),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return result


def _status_json(result: subprocess.CompletedProcess) -> dict:
    return json.loads(result.stdout.strip().splitlines()[-1])


def _wait_stopped(server: EmbeddedPostgres, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not server.status()["running"]:
            return True
        time.sleep(0.05)
    return False


# --------------------------------------------------------------------------- fixtures


@pytest.fixture
def np_base(tmp_path):
    """Folder for test homes.

    ``tmp_path`` normally; as root a private folder directly in the temporary directory:
    the server then runs as ``embedded_postgres``, which must traverse to its data folder,
    and every pytest session start resets ``/tmp/pytest-of-root`` to mode 0700 -- a
    concurrent pytest run would lock the server user out of homes under ``tmp_path``.
    """
    if os.geteuid() != 0:
        yield tmp_path
        return
    base = Path(tempfile.mkdtemp(prefix="np-embedded-test-")).resolve()
    try:
        yield base
    finally:
        _stop_all_under(base)
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def np_home(np_base, tmp_path, monkeypatch):
    """A fresh napari-photon home; no server configured for DataJoint; cleanup afterwards."""
    for var in ("DJ_HOST", "DJ_BACKEND", "DJ_PORT", "DJ_USER", "DJ_PASS", "DJ_STORES",
                "NAPARI_PHOTON_DATABASE", "PGPASSWORD", "PGHOST", "PGPORT", "PGUSER"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("PGPASSFILE", str(tmp_path / "no-pgpass"))
    # (monkeypatch.setattr would delete this pydantic private attribute on undo)
    saved_config_path = datajoint.settings.config._config_path
    datajoint.settings.config._config_path = None
    home = np_base / "home"
    monkeypatch.setenv("NAPARI_PHOTON_HOME", str(home))

    saved_db = dj.config.database.model_copy(deep=True)
    saved_stores = json.loads(json.dumps(dj.config.stores))
    saved_applied = (dict(_connect._applied_db), json.loads(json.dumps(_connect._applied_stores)))
    yield home

    conn = datajoint.instance._singleton_connection
    if conn is not None:
        try:
            conn.close()
        except Exception:
            pass
        datajoint.instance._singleton_connection = None
    for path, server in list(_connect._servers.items()):
        if str(path).startswith(str(np_base)):
            server.release()
            _connect._servers.pop(path, None)
    _stop_all_under(np_base)
    dj.config.database = saved_db
    datajoint.settings.config._config_path = saved_config_path
    dj.config.stores = saved_stores
    _connect._applied_db.clear()
    _connect._applied_db.update(saved_applied[0])
    _connect._applied_stores.clear()
    _connect._applied_stores.update(saved_applied[1])
    _connect._conn_key = None


# --------------------------------------------------------------------------- tests


def test_fresh_home_datajoint_roundtrip(np_home):
    assert not db.database_is_configured()
    t0 = time.perf_counter()
    summary = db.configure()
    t_start = time.perf_counter() - t0
    print(f"fresh init + start: {t_start:.2f} s")
    assert summary["embedded"] is True
    assert summary["backend"] == "postgresql"
    assert summary["host"] == "127.0.0.1"
    assert dj.config["database.use_tls"] is False
    assert dj.config["database.name"] == "postgres"
    assert t_start < 15

    for name in ("active", "archive"):
        location = Path(dj.config.stores[name]["location"])
        assert location == db.home() / "stores" / name and location.is_dir()
    assert dj.config.stores["default"] == "active"
    assert db.raw_root() == np_home / "raw" and db.raw_root().is_dir()

    conn = db.connect()
    t0 = time.perf_counter()
    for _ in range(20):
        assert db.connect() is conn
    print(f"repeated connect(): {(time.perf_counter() - t0) / 20 * 1e3:.2f} ms")

    schema = dj.Schema(f"np_test_{uuid.uuid4().hex[:8]}", connection=conn)
    try:

        @schema
        class Thing(dj.Manual):
            definition = """
            thing_id: int32
            ---
            value: float64
            note: varchar(32)
            """

        Thing.insert([dict(thing_id=1, value=1.5, note="a"), dict(thing_id=2, value=2.5, note="b")])
        assert len(Thing()) == 2
        assert (Thing & "thing_id=2").fetch1("value") == 2.5
    finally:
        schema.drop(prompt=False)

    server = db.embedded_server()
    server.stop()
    t0 = time.perf_counter()
    server.start()
    print(f"restart of an existing data folder: {time.perf_counter() - t0:.2f} s")


def test_listens_on_loopback_only_and_no_trust(np_home):
    server = EmbeddedPostgres(db.home())
    st = server.start()
    assert st["running"] and st["port"]
    listening = [
        c
        for c in psutil.net_connections(kind="inet")
        if c.pid == st["pid"] and c.status == psutil.CONN_LISTEN
    ]
    assert listening, "postmaster has no listening socket"
    assert {c.laddr.ip for c in listening} == {"127.0.0.1"}
    assert {c.laddr.port for c in listening} == {st["port"]}

    with psycopg2.connect(dbname="postgres", **server.connection_params()) as pg:
        with pg.cursor() as cur:
            cur.execute("SHOW listen_addresses")
            assert cur.fetchone()[0] == "127.0.0.1"
            cur.execute("SELECT DISTINCT auth_method FROM pg_hba_file_rules")
            assert {r[0] for r in cur.fetchall()} == {"scram-sha-256"}
    pg.close()

    rules = [
        line.split()
        for line in (server.pgdata / "pg_hba.conf").read_text().splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]
    assert rules and all(r[-1] == "scram-sha-256" for r in rules)
    assert "trust" not in " ".join(" ".join(r) for r in rules)


def test_password_required(np_home):
    server = EmbeddedPostgres(db.home())
    st = server.start()
    params = server.connection_params()

    with pytest.raises(psycopg2.OperationalError) as no_pw:
        psycopg2.connect(host="127.0.0.1", port=st["port"], user="postgres", dbname="postgres")
    message = str(no_pw.value).lower()
    assert "password" in message or "authentication" in message

    with pytest.raises(psycopg2.OperationalError) as wrong_pw:
        psycopg2.connect(
            host="127.0.0.1",
            port=st["port"],
            user="postgres",
            password=params["password"] + "x",
            dbname="postgres",
        )
    assert "password authentication failed" in str(wrong_pw.value).lower()

    # the unix socket (in the data folder) wants the password too
    postmaster = (server.pgdata / "postmaster.pid").read_text().splitlines()
    socket_dir = postmaster[4].strip()
    if socket_dir:
        with pytest.raises(psycopg2.OperationalError) as sock_no_pw:
            psycopg2.connect(host=socket_dir, port=st["port"], user="postgres", dbname="postgres")
        assert "password" in str(sock_no_pw.value).lower()

    psycopg2.connect(dbname="postgres", **params).close()


def test_password_file_private(np_home):
    server = EmbeddedPostgres(db.home())
    server.start()
    info = server.password_file.stat()
    assert stat.S_IMODE(info.st_mode) == 0o600
    assert info.st_uid == os.geteuid()
    assert len(server.password()) >= 32
    # the copy handed to initdb is gone; the runtime folder is private
    assert not list(db.home().glob(".postgres-init-*"))
    assert stat.S_IMODE(server.run_dir.stat().st_mode) == 0o700
    if os.geteuid() == 0:  # root path: the server runs as its own system user
        import pwd

        owner = pwd.getpwuid(server.pgdata.stat().st_uid).pw_name
        assert owner == "embedded_postgres"
        assert psutil.Process(server.status()["pid"]).username() == "embedded_postgres"


def test_second_process_reuses_running_server(np_home):
    server = db.embedded_server()
    st = server.ensure_running()
    assert st["running"] and os.getpid() in st["clients"]

    child = _status_json(_run_child(CHILD_CLIENT, np_home))
    assert (child["pid"], child["port"]) == (st["pid"], st["port"])
    assert os.getpid() in child["clients"]

    # the child exited; this process is still a client, so the server keeps running
    after = server.status()
    assert after["running"] and after["pid"] == st["pid"]
    assert after["clients"] == [os.getpid()]


def test_client_started_server_stops_with_last_client(np_home):
    server = EmbeddedPostgres(np_home)  # this process is not a client
    first = subprocess.Popen(
        [sys.executable, "-c", CHILD_CLIENT, "--wait"],
        env=_child_env(np_home),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        st = json.loads(first.stdout.readline())
        assert st["running"] and not st["persistent"]

        # a second client comes and goes: the first one keeps the server alive
        second = _status_json(_run_child(CHILD_CLIENT, np_home))
        assert (second["pid"], second["port"]) == (st["pid"], st["port"])
        assert server.status()["running"]

        # the last client exits: the server stops
        first.stdin.close()
        assert first.wait(timeout=60) == 0, first.stderr.read()
    finally:
        if first.poll() is None:
            first.kill()
    assert _wait_stopped(server), server.status()
    assert not psutil.pid_exists(st["pid"]) or psutil.Process(st["pid"]).status() == psutil.STATUS_ZOMBIE


CHILD_CLI = """
import argparse, sys
from napari_photon.cli import _db
parser = argparse.ArgumentParser(prog="napari-photon")
_db.add_parser(parser.add_subparsers(dest="command"))
args = parser.parse_args(sys.argv[1:])
sys.exit(args.func(args))
"""


def test_cli_persistent_server_outlives_clients(np_home):
    server = EmbeddedPostgres(np_home)
    started = _run_child(CHILD_CLI, np_home, "db", "start")
    assert "running on 127.0.0.1:" in started.stdout
    st = server.status()
    assert st["running"] and st["persistent"]

    client = _status_json(_run_child(CHILD_CLIENT, np_home))
    assert client["pid"] == st["pid"]
    assert server.status()["running"], "a persistent server must outlive its clients"

    status = _run_child(CHILD_CLI, np_home, "db", "status").stdout
    for field in ("backend:", "host:", "port:", "pgdata:", "running:"):
        assert field in status
    assert f"port:       {st['port']}" in status or str(st["port"]) in status
    info = json.loads(_run_child(CHILD_CLI, np_home, "db", "status", "--json").stdout)
    assert info["running"] and info["embedded"] and info["backend"] == "postgresql"

    stopped = _run_child(CHILD_CLI, np_home, "db", "stop")
    assert "stopped" in stopped.stdout
    assert not server.status()["running"]

    # run() directly, in this process
    assert _db_run("status") == 0


def _db_run(command: str) -> int:
    from napari_photon.cli import _db

    return _db.run(argparse.Namespace(db_command=command, json=False))


def test_configured_database_is_respected(np_home, tmp_path, monkeypatch):
    base = np_home.parent
    # first the embedded server, so dj.config holds its settings
    summary = db.configure()
    assert summary["embedded"]

    # then a server configured for DataJoint through the environment, in a new home
    other = base / "other-home"
    monkeypatch.setenv("NAPARI_PHOTON_HOME", str(other))
    monkeypatch.setenv("DJ_HOST", "db.example.org")
    monkeypatch.setenv("DJ_BACKEND", "mysql")
    assert db.database_is_configured()
    summary = db.configure()
    assert summary["embedded"] is False
    assert summary["host"] == "db.example.org" and summary["backend"] == "mysql"
    assert dj.config["database.host"] == "db.example.org"
    assert not (other / "postgres").exists()
    assert not EmbeddedPostgres(other).status()["running"]
    assert summary["stores"]["active"]["location"] == str(other / "stores" / "active")

    monkeypatch.delenv("DJ_HOST")
    assert db.database_is_configured()  # DJ_BACKEND alone counts
    monkeypatch.delenv("DJ_BACKEND")
    assert not db.database_is_configured()

    # a datajoint.json that sets database.host counts too ...
    cfg = tmp_path / "datajoint.json"
    cfg.write_text(json.dumps({"database": {"host": "db.example.org", "port": 3306}}))
    datajoint.settings.config._config_path = cfg  # np_home restores it
    assert db.database_is_configured()
    cfg.write_text(json.dumps({"database.host": "db.example.org"}))
    assert db.database_is_configured()
    cfg.write_text(json.dumps({"stores": {}}))
    assert not db.database_is_configured()

    # ... unless NAPARI_PHOTON_DATABASE=embedded forces the embedded server
    monkeypatch.setenv("DJ_HOST", "db.example.org")
    monkeypatch.setenv("NAPARI_PHOTON_DATABASE", "embedded")
    assert not db.database_is_configured()


def test_user_stores_kept(np_home, tmp_path):
    mine = tmp_path / "my-active"
    mine.mkdir()
    dj.config.stores = {"active": {"protocol": "file", "location": str(mine)}, "default": "archive"}
    summary = db.configure(stores=True)
    assert dj.config.stores["active"]["location"] == str(mine)
    assert dj.config.stores["default"] == "archive"
    assert summary["stores"]["archive"]["location"] == str(db.home() / "stores" / "archive")


def test_new_home_gives_fresh_connection(np_home, monkeypatch):
    first = db.connect()
    port_a = dj.config["database.port"]
    monkeypatch.setenv("NAPARI_PHOTON_HOME", str(np_home.parent / "home-b"))
    second = db.connect()
    assert second is not first
    assert dj.config["database.port"] != port_a
    assert second.conn_info["port"] == dj.config["database.port"]
    assert not first.is_connected
    assert second.query("SELECT 1").fetchone()[0] == 1
