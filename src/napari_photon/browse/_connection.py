"""Opening a DataJoint connection: the default (embedded or configured) one, or a server's.

Both functions block (a server can take seconds to answer, the embedded server to start):
call them from a worker thread. Failures raise :class:`ConnectionFailed` with a one-line,
readable message that never contains the password.
"""

from __future__ import annotations

import contextlib
import warnings
from dataclasses import dataclass
from typing import Any

from ._settings import ConnectionSettings

__all__ = ["ConnectionFailed", "ConnectionInfo", "connect_default", "connect_server"]


class ConnectionFailed(RuntimeError):
    """A connection could not be opened; ``str(error)`` is meant for people."""


@dataclass(frozen=True)
class ConnectionInfo:
    """An open connection and how to describe it.

    Attributes
    ----------
    connection : datajoint.Connection
    description : str
        E.g. ``"embedded PostgreSQL (127.0.0.1:5433)"`` or ``"mysql: alice@db:3306"``.
    embedded : bool
        True for napari-photon's embedded server.
    """

    connection: Any
    description: str
    embedded: bool = False


def _first_line(error: BaseException) -> str:
    text = str(error).strip() or type(error).__name__
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    # drivers put the useful part first ("connection refused", "password authentication ...")
    return " ".join(lines[:2])


def connect_default() -> ConnectionInfo:
    """The server configured for DataJoint, or else napari-photon's embedded server.

    See :func:`napari_photon.db.connect`.

    Raises
    ------
    ConnectionFailed
    """
    from .. import db

    try:
        connection = db.connect()
        info = db.configure(stores=False)
    except Exception as err:  # any driver or server error becomes one readable message
        raise ConnectionFailed(f"Could not open the default database: {_first_line(err)}") from err
    where = f"{info['host']}:{info['port']}"
    if info.get("embedded"):
        return ConnectionInfo(connection, f"embedded PostgreSQL ({where})", embedded=True)
    return ConnectionInfo(connection, f"configured {info['backend']} server ({where})")


def _isolated_config(settings: ConnectionSettings) -> Any:
    """A copy of DataJoint's configuration pointing at ``settings``' server.

    The global ``dj.config`` is left as it is, so the password exists only in this copy
    (in memory) and in the connection made from it. Stores are those configured for
    DataJoint, plus napari-photon's default ``active``/``archive`` file stores when none
    with those names are configured.
    """
    from datajoint.settings import config as global_config

    with contextlib.suppress(Exception):
        from ..db._connect import _configure_stores

        _configure_stores()
    config = global_config.model_copy(deep=True)
    database = config.database
    database.backend = settings.backend
    database.host = settings.host
    database.port = settings.resolved_port
    database.user = settings.user
    database.password = settings.password
    database.name = settings.database_name or (
        "postgres" if settings.backend == "postgresql" else None
    )
    database.use_tls = settings.use_tls
    return config


def connect_server(settings: ConnectionSettings) -> ConnectionInfo:
    """Connect to the server described by ``settings``.

    Parameters
    ----------
    settings : ConnectionSettings

    Raises
    ------
    ConnectionFailed
        With the server address and the driver's reason (password redacted).
    """
    from datajoint import Connection

    if not settings.user:
        raise ConnectionFailed("Enter a database user name")
    try:
        config = _isolated_config(settings)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            connection = Connection(
                settings.host,
                settings.user,
                settings.password,
                settings.resolved_port,
                settings.use_tls,
                database_name=config.database.name,
                backend=settings.backend,
                config_override=config,
            )
    except Exception as err:  # noqa: BLE001 - drivers raise many types; one message
        reason = settings.redact(_first_line(err))
        raise ConnectionFailed(
            f"Could not connect to the {settings.backend} server {settings.address}: {reason}"
        ) from None
    return ConnectionInfo(connection, f"{settings.backend}: {settings.address}")
