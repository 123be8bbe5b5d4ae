"""Point DataJoint at a database server and at napari-photon's object stores.

Which server
------------
napari-photon uses the server you configured through DataJoint's own mechanisms:

* the environment variables ``DJ_HOST`` or ``DJ_BACKEND`` (plus ``DJ_PORT``, ``DJ_USER``,
  ``DJ_PASS``, ...), or
* a ``datajoint.json`` that DataJoint loaded (found from the working directory upwards) and
  that sets ``database.host``.

Otherwise it starts (or reuses) its own embedded PostgreSQL server in
``napari_photon.db.home()`` (see :class:`~napari_photon.db.EmbeddedPostgres`) and sets
``dj.config`` for it at runtime; nothing is written to DataJoint's config files.

Set ``NAPARI_PHOTON_DATABASE=embedded`` to use the embedded server even when a server is
configured for DataJoint.

Stores
------
Stores named ``active`` and ``archive`` are added to ``dj.config["stores"]`` as file stores
under ``home()/stores/active`` and ``home()/stores/archive``, unless stores with those names
are configured already (``datajoint.json``, ``DJ_STORES``, runtime); ``stores.default``
becomes ``"active"`` when no default is set.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
from pathlib import Path
from typing import Any

from ._embedded import DB_USER, EmbeddedPostgres
from ._home import home

__all__ = [
    "FORCE_ENV",
    "configure",
    "connect",
    "database_is_configured",
    "embedded_server",
]

#: environment variable; ``embedded`` forces the embedded server
FORCE_ENV = "NAPARI_PHOTON_DATABASE"
STORE_NAMES = ("active", "archive")

_DB_KEYS = (
    "database.backend",
    "database.host",
    "database.port",
    "database.user",
    "database.password",
    "database.name",
    "database.use_tls",
)

_guard = threading.RLock()
_servers: dict[Path, EmbeddedPostgres] = {}
# values this module put into dj.config, so they can be told apart from the user's
_applied_db: dict[str, Any] = {}
_applied_stores: dict[str, dict[str, Any]] = {}
_conn_key: tuple | None = None


def _dj():
    import datajoint as dj

    return dj


def embedded_server(path: Path | None = None) -> EmbeddedPostgres:
    """The (per-process cached) :class:`EmbeddedPostgres` of ``path`` (default: ``home()``)."""
    path = Path(path).resolve() if path is not None else home()
    with _guard:
        server = _servers.get(path)
        if server is None:
            server = _servers[path] = EmbeddedPostgres(path)
        return server


def _config_file_host() -> str | None:
    """``database.host`` of the config file DataJoint loaded, if any."""
    path = getattr(_dj().config, "_config_path", None)
    if not path:
        return None
    try:
        data = json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict):
        return None
    database = data.get("database")
    if isinstance(database, dict) and database.get("host"):
        return str(database["host"])
    if data.get("database.host"):
        return str(data["database.host"])
    return None


def database_is_configured() -> bool:
    """True when the user configured a database server for DataJoint.

    That is: ``DJ_HOST`` or ``DJ_BACKEND`` is set, or the ``datajoint.json`` DataJoint loaded
    sets ``database.host``. ``NAPARI_PHOTON_DATABASE=embedded`` makes this False (forces the
    embedded server).
    """
    if os.environ.get(FORCE_ENV, "").strip().lower() == "embedded":
        return False
    if os.environ.get("DJ_HOST") or os.environ.get("DJ_BACKEND"):
        return True
    return _config_file_host() is not None


def _user_database_values() -> dict[str, Any]:
    """database.* as DataJoint would configure them from env, config file and secrets."""
    from datajoint.settings import Config

    dj = _dj()
    fresh = Config()  # reads DJ_* environment variables
    path = getattr(dj.config, "_config_path", None)
    if path:
        with contextlib.suppress(Exception):
            fresh.load(path)
    secrets_dir = getattr(dj.config, "_secrets_dir", None)
    if secrets_dir:
        with contextlib.suppress(Exception):
            fresh._load_secrets(Path(secrets_dir))
    return {key: fresh[key] for key in _DB_KEYS}


def _restore_user_database() -> None:
    """Undo this module's embedded-server settings that are still in place."""
    if not _applied_db:
        return
    dj = _dj()
    user = _user_database_values()
    for key, value in _applied_db.items():
        if dj.config[key] == value:
            dj.config[key] = user[key]
    _applied_db.clear()


def _configure_stores() -> dict[str, Any]:
    dj = _dj()
    root = home() / "stores"
    stores = dict(dj.config.stores)
    for name in STORE_NAMES:
        location = root / name
        current = stores.get(name)
        previous = _applied_stores.get(name)
        ours = (
            previous is not None
            and isinstance(current, dict)
            and current.get("protocol") == previous["protocol"]
            and current.get("location") == previous["location"]
        )
        if current is None or ours:
            location.mkdir(parents=True, exist_ok=True)
            spec = {"protocol": "file", "location": str(location)}
            stores[name] = dict(spec)
            _applied_stores[name] = spec
    if not stores.get("default"):
        stores["default"] = "active"
    dj.config.stores = stores
    summary: dict[str, Any] = {"default": stores["default"]}
    for name in STORE_NAMES:
        spec = stores[name]
        summary[name] = (
            {"protocol": spec.get("protocol"), "location": spec.get("location")}
            if isinstance(spec, dict)
            else spec
        )
    return summary


def configure(*, stores: bool = True) -> dict[str, Any]:
    """Set ``dj.config`` for the configured server, or start/reuse the embedded one.

    With ``stores=True`` also makes sure the ``active`` and ``archive`` stores exist.
    Returns ``{"backend", "host", "port", "embedded", "stores"}`` (``stores`` is None when
    ``stores=False``).
    """
    dj = _dj()
    with _guard:
        if database_is_configured():
            _restore_user_database()
            embedded = False
        else:
            server = embedded_server()
            st = server.ensure_running()
            values = {
                "database.backend": "postgresql",
                "database.host": st["host"],
                "database.port": st["port"],
                "database.user": DB_USER,
                "database.password": server.password(),
                "database.name": "postgres",
                "database.use_tls": False,
            }
            for key, value in values.items():
                dj.config[key] = value
            _applied_db.clear()
            _applied_db.update(values)
            embedded = True
        summary = {
            "backend": dj.config["database.backend"],
            "host": dj.config["database.host"],
            "port": dj.config["database.port"],
            "embedded": embedded,
            "stores": _configure_stores() if stores else None,
        }
    return summary


def _singleton_connection():
    """DataJoint's shared connection (what ``dj.conn()`` returns) if it exists, else None."""
    import datajoint.instance

    return getattr(datajoint.instance, "_singleton_connection", None)


def connect():
    """:func:`configure`, then DataJoint's shared connection (``dj.conn()``).

    The shared connection (``datajoint.instance._singleton_connection``, which schemas use by
    default) is reused while it is alive and the settings it was made with are
    unchanged; otherwise (e.g. ``NAPARI_PHOTON_HOME`` now points at another home, hence another
    embedded server) it is closed and replaced, as ``dj.conn(reset=True)`` does.
    """
    global _conn_key
    dj = _dj()
    with _guard:
        configure()
        key = tuple(dj.config[k] for k in _DB_KEYS)
        current = _singleton_connection()
        if current is not None and key == _conn_key and current.is_connected:
            return current
        if current is not None:
            with contextlib.suppress(Exception):
                current.close()
        connection = dj.conn(reset=True)
        _conn_key = key
        return connection
