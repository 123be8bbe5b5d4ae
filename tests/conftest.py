"""Shared pytest fixtures for napari-photon.

Section 1 (this part): real servers on loopback, started once per test session by the
fixtures themselves and stopped at session end:

* ``mariadb_server`` -- Debian's MariaDB (``mariadbd``) in a temporary data dir, with a
  password user reachable over TCP on 127.0.0.1.
* ``s3_endpoint`` -- ``moto_server`` (from ``moto[server]`` in the ``test`` extra), a real
  S3 HTTP endpoint on 127.0.0.1 with one bucket, as a DataJoint store spec.

Waits poll for readiness with a deadline; nothing sleeps blindly.  Every process started
here is stopped in the fixture's teardown (and, as a fallback, at interpreter exit).
"""

from __future__ import annotations

import atexit
import contextlib
import itertools
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

# --------------------------------------------------------------------------------------
# Section 1: helpers and server fixtures
# --------------------------------------------------------------------------------------

_SBIN_DIRS = ("/usr/local/sbin", "/usr/sbin", "/sbin")


def _in_ci() -> bool:
    """True when running under CI (``CI`` set to anything but empty/0/false/no)."""
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def _missing_tool(reason: str) -> None:
    """Skip locally, but fail loudly in CI, where bootstrap.sh installs everything."""
    if _in_ci():
        pytest.fail(
            f"{reason} (CI is set: scripts/bootstrap.sh should have installed it)", pytrace=False
        )
    pytest.skip(f"{reason}; run `bash scripts/bootstrap.sh test` to install it")


def _which(*names: str) -> str | None:
    """Find an executable on PATH or in the sbin dirs (a non-root PATH often lacks them)."""
    search = os.pathsep.join([os.environ.get("PATH", ""), *_SBIN_DIRS])
    for name in names:
        found = shutil.which(name, path=search)
        if found:
            return found
    return None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _pdeathsig_prefix() -> list[str]:
    """``setpriv --pdeathsig`` (util-linux): the server gets SIGTERM if pytest dies
    without running teardown (e.g. SIGKILL).  Not a preexec_fn: forking with Qt threads
    around must not run Python in the child."""
    setpriv = shutil.which("setpriv")
    return [setpriv, "--pdeathsig", "TERM", "--"] if setpriv else []


class _Server:
    """A server process in its own process group, with its output in a log file."""

    def __init__(self, name: str, cmd: list[str], log_path: Path, env: dict | None = None):
        self.name = name
        self.cmd = cmd
        self.log_path = log_path
        self._log = open(log_path, "ab")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [*_pdeathsig_prefix(), *cmd],
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )
        atexit.register(self.stop)

    def alive(self) -> bool:
        return self.proc.poll() is None

    def log_tail(self, extra: Path | None = None, n: int = 40) -> str:
        parts = []
        for path in (self.log_path, extra):
            if path is not None and path.exists():
                lines = path.read_text(errors="replace").splitlines()[-n:]
                parts.append(f"--- {path} ---\n" + "\n".join(lines))
        return "\n".join(parts)

    def stop(self, timeout: float = 30.0) -> None:
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(self.proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                self.proc.wait(timeout=10)
        if not self._log.closed:
            self._log.close()
        atexit.unregister(self.stop)


def _wait_until(
    ready: Callable[[], bool],
    server: _Server,
    timeout: float,
    what: str,
    extra_log: Path | None = None,
    interval: float = 0.1,
) -> None:
    """Poll ``ready()`` until it is true; fail early if the server process exits."""
    deadline = time.monotonic() + timeout
    while True:
        if ready():
            return
        if not server.alive():
            raise RuntimeError(
                f"{server.name} exited with code {server.proc.returncode} before {what}\n"
                f"command: {' '.join(server.cmd)}\n{server.log_tail(extra_log)}"
            )
        if time.monotonic() > deadline:
            raise TimeoutError(
                f"{server.name} not {what} after {timeout:.0f} s\n{server.log_tail(extra_log)}"
            )
        time.sleep(interval)


# ------------------------------------------------------------------------------ MariaDB

_MARIADB_USER = "photon_test"


def _start_mariadb(base: Path, mariadbd: str, as_root: bool, password: str,
                   port: int | None = None) -> tuple[_Server, int]:
    datadir = base / "data"
    error_log = base / "error.log"
    init_sql = base / "init.sql"
    hosts = ("127.0.0.1", "localhost", "%")
    init_sql.write_text(
        "".join(
            f"CREATE USER IF NOT EXISTS '{_MARIADB_USER}'@'{h}' IDENTIFIED BY '{password}';\n"
            f"GRANT ALL PRIVILEGES ON *.* TO '{_MARIADB_USER}'@'{h}' WITH GRANT OPTION;\n"
            for h in hosts
        )
    )
    (base / "tmp").mkdir(exist_ok=True)
    if as_root:
        for p in (init_sql, base / "tmp"):
            shutil.chown(p, "mysql", "mysql")
    init_sql.chmod(0o600)

    last_error: Exception | None = None
    fixed = port
    for _attempt in range(1 if fixed else 3):  # a free port can be taken between probe and bind
        port = fixed or _free_port()
        cmd = [
            mariadbd,
            "--no-defaults",
            *(["--user=mysql"] if as_root else []),
            f"--datadir={datadir}",
            f"--socket={base / 'mysqld.sock'}",
            f"--pid-file={base / 'mysqld.pid'}",
            f"--log-error={error_log}",
            f"--tmpdir={base / 'tmp'}",
            f"--port={port}",
            "--bind-address=127.0.0.1",
            "--skip-networking=0",
            "--skip-name-resolve",
            f"--init-file={init_sql}",
            "--character-set-server=utf8mb4",
            "--collation-server=utf8mb4_general_ci",
            "--innodb-buffer-pool-size=128M",
            "--innodb-flush-log-at-trx-commit=2",
            "--innodb-doublewrite=0",
            "--max-connections=200",
        ]
        server = _Server("mariadbd", cmd, base / "mariadbd.out")

        def ready(port: int = port) -> bool:
            import pymysql

            try:
                conn = pymysql.connect(
                    host="127.0.0.1",
                    port=port,
                    user=_MARIADB_USER,
                    password=password,
                    connect_timeout=2,
                )
            except pymysql.err.MySQLError:
                return False
            try:
                with conn.cursor() as cur:
                    cur.execute("SELECT 1")
                    return cur.fetchone() == (1,)
            finally:
                conn.close()

        try:
            _wait_until(
                ready, server, timeout=90, what="accepting connections", extra_log=error_log
            )
            return server, port
        except Exception as exc:
            server.stop()
            last_error = exc
            log = error_log.read_text(errors="replace") if error_log.exists() else ""
            if "Address already in use" in log or "Bind on TCP/IP port" in log:
                error_log.unlink()
                continue
            raise
    raise RuntimeError(f"mariadbd could not bind a free port: {last_error}")


_MARIADB_PREFIX = "np-mariadb-"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _reap_orphaned_mariadb() -> None:
    """Stop servers left by an earlier pytest that was killed before its teardown.

    mariadbd switches to the ``mysql`` user, which clears the parent-death signal, so a
    SIGKILLed pytest leaves it running; its base dir records the owning pytest's pid.
    """
    for base in Path(tempfile.gettempdir()).glob(_MARIADB_PREFIX + "*"):
        try:
            owner = int((base / "owner.pid").read_text())
        except (OSError, ValueError):
            continue
        if _pid_alive(owner):
            continue
        try:
            pid = int((base / "mysqld.pid").read_text())
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except (OSError, ValueError):
            pid, cmdline = None, b""
        if pid is not None and str(base / "data").encode() in cmdline:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        shutil.rmtree(base, ignore_errors=True)


@contextlib.contextmanager
def _mariadb_instance() -> Iterator[dict]:
    """A throw-away MariaDB server on 127.0.0.1 in a fresh data dir.

    Yields ``{"backend": "mysql", "host", "port", "user", "password", "restart"}``: the
    user has all privileges (it can create and drop databases); ``restart()`` stops the
    server and starts it again on the same port and data.
    """
    mariadbd = _which("mariadbd", "mysqld")
    install_db = _which("mariadb-install-db", "mysql_install_db")
    if mariadbd is None or install_db is None:
        _missing_tool(
            "MariaDB server binaries (mariadbd, mariadb-install-db) not found; "
            "Debian package mariadb-server"
        )
    pytest.importorskip("pymysql")

    as_root = os.geteuid() == 0
    # Directly under the temp dir, not pytest's 0700 tmp tree: as root the server runs as
    # the `mysql` user, which must reach its data dir; a short path also keeps the unix
    # socket path under its 107-byte limit.
    _reap_orphaned_mariadb()
    base = Path(tempfile.mkdtemp(prefix=_MARIADB_PREFIX))
    (base / "owner.pid").write_text(str(os.getpid()))
    servers: list[_Server] = []
    try:
        if as_root:
            shutil.chown(base, "mysql", "mysql")
        setup = subprocess.run(
            [
                install_db,
                "--no-defaults",
                *(["--user=mysql"] if as_root else []),
                f"--datadir={base / 'data'}",
                "--auth-root-authentication-method=normal",
                "--skip-test-db",
                "--skip-name-resolve",
            ],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )
        if setup.returncode != 0:
            raise RuntimeError(
                f"mariadb-install-db failed ({setup.returncode}):\n"
                f"{setup.stdout[-3000:]}\n{setup.stderr[-3000:]}"
            )
        password = secrets.token_urlsafe(16)
        server, port = _start_mariadb(base, mariadbd, as_root, password)
        servers.append(server)

        def restart() -> None:
            servers[-1].stop(timeout=60)
            servers.append(_start_mariadb(base, mariadbd, as_root, password, port)[0])

        yield {
            "backend": "mysql",
            "host": "127.0.0.1",
            "port": port,
            "user": _MARIADB_USER,
            "password": password,
            "restart": restart,
        }
    finally:
        for server in servers:
            server.stop(timeout=60)
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="session")
def mariadb_server() -> Iterator[dict]:
    """A throw-away MariaDB server for the whole session (see :func:`_mariadb_instance`;
    do not restart this one, other tests share it)."""
    with _mariadb_instance() as server:
        yield server


@pytest.fixture
def own_mariadb() -> Iterator[dict]:
    """A MariaDB server of the test's own, which it may ``restart()``."""
    with _mariadb_instance() as server:
        yield server


# ------------------------------------------------------------------------------ S3 (moto)

_S3_BUCKET = "napari-photon"
_S3_KEY = "testing"


def start_moto(logdir: Path, port: int | None = None) -> tuple[_Server, int]:
    """A moto S3 server on 127.0.0.1 (``port``, or a free one) with the test bucket.

    The caller sets the fake ``AWS_*`` variables (see :func:`s3_endpoint`) and stops the
    returned server.
    """
    exe = Path(sys.executable).parent / "moto_server"
    if not exe.exists():
        found = _which("moto_server")
        if found is None:
            _missing_tool("moto_server not found (PyPI moto[server], in the test extra)")
        exe = Path(found)
    try:
        import boto3
    except ImportError:
        _missing_tool("boto3 not importable (comes with moto[server], in the test extra)")
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback, no proxy
    for attempt in range(3):  # a free port can be taken between probe and bind
        chosen = port or _free_port()
        server = _Server(
            "moto_server",
            [str(exe), "-H", "127.0.0.1", "-p", str(chosen)],
            logdir / f"moto_server-{chosen}-{attempt}.log",
            env=dict(os.environ),
        )
        url = f"http://127.0.0.1:{chosen}"

        def ready(url: str = url) -> bool:
            try:
                opener.open(url + "/", timeout=2).close()
            except urllib.error.HTTPError:
                return True  # it answered HTTP
            except OSError:
                return False
            return True

        try:
            _wait_until(ready, server, timeout=60, what="answering HTTP")
            break
        except RuntimeError:
            server.stop()
            if attempt == 2 or "Address already in use" not in server.log_tail():
                raise
    client = boto3.client(
        "s3",
        endpoint_url=url,
        aws_access_key_id=_S3_KEY,
        aws_secret_access_key=_S3_KEY,
        region_name="us-east-1",
    )
    client.create_bucket(Bucket=_S3_BUCKET)
    return server, chosen


@contextlib.contextmanager
def extra_store(name: str, spec: dict) -> Iterator[None]:
    """``dj.config["stores"][name] = spec`` for the block only (``gc`` and every other
    test walk all configured stores, so a test's own store must not outlive it)."""
    import datajoint as dj

    stores = dict(dj.config.stores)
    stores[name] = dict(spec)
    dj.config.stores = stores
    try:
        yield
    finally:
        stores = dict(dj.config.stores)
        stores.pop(name, None)
        dj.config.stores = stores


def s3_store_spec(port: int, location: str = "napari-photon-test") -> dict:
    """The DataJoint store spec of a :func:`start_moto` server."""
    return {
        "protocol": "s3",
        "endpoint": f"127.0.0.1:{port}",
        "bucket": _S3_BUCKET,
        "location": location,
        "access_key": _S3_KEY,
        "secret_key": _S3_KEY,
        "secure": False,
    }


@contextlib.contextmanager
def fake_aws_environment() -> Iterator[None]:
    """``AWS_*`` variables that point any boto3/s3fs client at fake credentials, and no
    proxy for loopback."""
    fake_env = {
        "AWS_ACCESS_KEY_ID": _S3_KEY,
        "AWS_SECRET_ACCESS_KEY": _S3_KEY,
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    no_proxy = ",".join(filter(None, [os.environ.get("NO_PROXY", ""), "127.0.0.1", "localhost"]))
    with pytest.MonkeyPatch.context() as mp:
        for k, v in fake_env.items():
            mp.setenv(k, v)
        mp.setenv("NO_PROXY", no_proxy)
        mp.setenv("no_proxy", no_proxy)
        mp.delenv("AWS_PROFILE", raising=False)
        yield


@pytest.fixture(scope="session")
def s3_endpoint(tmp_path_factory) -> Iterator[dict]:
    """A moto S3 server on 127.0.0.1 with one bucket, for the whole session.

    Yields a DataJoint store spec: ``{"protocol": "s3", "endpoint": "127.0.0.1:PORT",
    "bucket", "location", "access_key", "secret_key", "secure": False}``.  While it is up,
    ``AWS_*`` variables point any boto3/s3fs client at fake credentials, never real ones.
    """
    logdir = tmp_path_factory.mktemp("moto")
    with fake_aws_environment():
        server, port = start_moto(logdir)
        try:
            yield s3_store_spec(port)
        finally:
            server.stop()


# --------------------------------------------------------------------------------------
# Section 2: a napari-photon home with its embedded PostgreSQL server and file stores
# --------------------------------------------------------------------------------------

TEST_SCHEMA = "test_pipeline"

#: where tests save their screenshots (gitignored; ``bash scripts/refresh_docs_images.sh``
#: copies them into docs/images): a test run never changes a tracked file
SCREENSHOTS = Path(__file__).resolve().parents[1] / "build" / "screenshots"


def _private_tmpdir(prefix: str) -> Path:
    """A temporary folder the embedded server's user can reach when we are root.

    pytest's ``tmp_path`` lives under ``/tmp/pytest-of-root`` (mode 0700) when run as root;
    the embedded PostgreSQL server runs as another user and could not reach it.
    """
    return Path(tempfile.mkdtemp(prefix=prefix)).resolve()


@pytest.fixture(scope="session")
def photon_home() -> Iterator[Path]:
    """One isolated napari-photon home (database + stores + raw root) for the test session."""
    base = _private_tmpdir("napari-photon-test-home-")
    previous = {k: os.environ.get(k) for k in ("NAPARI_PHOTON_HOME", "NAPARI_PHOTON_DATABASE")}
    os.environ["NAPARI_PHOTON_HOME"] = str(base)
    os.environ["NAPARI_PHOTON_DATABASE"] = "embedded"
    try:
        yield base
    finally:
        from napari_photon.db import EmbeddedPostgres

        EmbeddedPostgres(base).stop()
        for name, value in previous.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def pipeline(photon_home, monkeypatch, request):
    """The :class:`~napari_photon.pipeline.Pipeline` in the session's home, in a schema of
    this test module (also the one the module-level ``napari_photon.pipeline`` names use).

    Each test module gets its own schema (``test_pipeline_<module>``), so a test that
    populates or counts "everything" sees only its own module's sessions.
    """
    from napari_photon import pipeline as module

    monkeypatch.setenv("NAPARI_PHOTON_HOME", str(photon_home))
    monkeypatch.setenv("NAPARI_PHOTON_DATABASE", "embedded")
    for var in ("DJ_HOST", "DJ_BACKEND", "DJ_PORT", "DJ_USER", "DJ_PASS"):
        monkeypatch.delenv(var, raising=False)
    name = request.module.__name__.rsplit(".", 1)[-1].removeprefix("test_")
    return module.activate(f"{TEST_SCHEMA}_{name}")


def zarr_folders(root: Path) -> set[Path]:
    """Every ``*.zarr`` folder below ``root``."""
    return {p for p in Path(root).rglob("*.zarr") if p.is_dir()}


@pytest.fixture
def store_root(photon_home) -> Path:
    """The ``active`` file store of the session's home."""
    return photon_home / "stores" / "active"


SMALL_MOVIE = {"n_frames": 40, "shape": (48, 48), "n_neurons": 3, "seed": 5}
_session_mice = itertools.count(1)


def new_session(pipeline, note: str = "", session_date: str = "2026-11-25") -> dict:
    """A new mouse (a fresh ``mouse_id``) and one session of it, inserted the way the
    design document inserts them. Returns the session key."""
    mouse = next(_session_mice)
    pipeline.Mouse.insert1({"mouse_id": mouse, "strain": "C57BL/6J", "sex": "M"})
    key = {"mouse_id": mouse, "session_date": session_date}
    pipeline.Session.insert1({**key, "experimenter": "pytest", "notes": note})
    return key


def tiff_session(pipeline, prefix: str, n_files: int = 1, **movie) -> dict:
    """A new mouse and session whose raw folder holds ``n_files`` TIFF stacks.

    ``prefix`` is kept in the session's notes. ``movie`` are ``synthetic.make_movie``
    arguments (default :data:`SMALL_MOVIE`); file ``i`` uses ``seed + i``. Returns the
    session key.
    """
    from napari_photon import synthetic

    key = new_session(pipeline, note=prefix)
    folder = pipeline.session_folder(key)
    folder.mkdir(parents=True)
    kwargs = {**SMALL_MOVIE, **movie}
    for i in range(n_files):
        frames = synthetic.make_movie(**{**kwargs, "seed": kwargs["seed"] + i}).movie
        synthetic.write_tiff(folder / f"{chr(97 + i)}.tif", frames)
    return key


def cli_env(home: Path) -> dict:
    """The environment of a ``napari-photon`` subprocess on ``home``: no DataJoint server
    configured (the home's embedded one), no display, matplotlib drawing to memory."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJ_", "NAPARI_PHOTON_"))}
    env.update(NAPARI_PHOTON_HOME=str(home), MPLBACKEND="Agg")
    env.pop("DISPLAY", None)
    return env


def wait_for(condition: Callable[[], object], what: str, timeout: float, interval: float = 0.05):
    """Poll ``condition()`` until it is true (returned), failing after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out waiting for {what}")


def drain(generator):
    """Run a generator to its end: (the values it yielded, the value it returned)."""
    reports = []
    while True:
        try:
            reports.append(next(generator))
        except StopIteration as stop:
            return reports, stop.value
