"""``browse.connect_default`` / ``connect_server``: connections and readable failures."""

from __future__ import annotations

import socket

import pytest


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # nothing listens once the socket is closed


def _embedded_settings(**changes):
    from napari_photon.browse import ConnectionSettings
    from napari_photon.db import embedded_server
    from napari_photon.db._embedded import DB_USER

    server = embedded_server()
    status = server.ensure_running()
    values = {
        "backend": "postgresql",
        "host": status["host"],
        "port": status["port"],
        "user": DB_USER,
        "password": server.password(),
        "use_tls": False,
    }
    values.update(changes)
    return ConnectionSettings(**values)


def test_default_is_the_embedded_server(pipeline):
    from napari_photon.browse import connect_default

    info = connect_default()
    assert info.embedded and info.description.startswith("embedded PostgreSQL")
    assert info.connection is pipeline.schema.connection


def test_server_form_connection_is_isolated(pipeline):
    import datajoint as dj

    from napari_photon.browse import connect_server

    settings = _embedded_settings()
    before = dj.config["database.port"], dj.config["database.user"]
    info = connect_server(settings)
    try:
        assert not info.embedded and info.description == f"postgresql: {settings.address}"
        assert pipeline.database in dj.list_schemas(info.connection)
        assert info.connection._config is not dj.config
        assert info.connection._config.stores.get("default")  # stores come along
    finally:
        info.connection.close()
    assert (dj.config["database.port"], dj.config["database.user"]) == before


def test_closed_port_gives_a_readable_message(pipeline):
    from napari_photon.browse import ConnectionFailed, ConnectionSettings, connect_server

    port = _closed_port()
    settings = ConnectionSettings("postgresql", "127.0.0.1", port, "alice", "pw-never-shown")
    with pytest.raises(ConnectionFailed) as caught:
        connect_server(settings)
    message = str(caught.value)
    assert message.startswith(f"Could not connect to the postgresql server alice@127.0.0.1:{port}")
    assert "pw-never-shown" not in message and "\n" not in message
    with pytest.raises(ConnectionFailed, match="Enter a database user name"):
        connect_server(ConnectionSettings(host="127.0.0.1", user=""))


def test_wrong_password_is_refused_without_echoing_it(pipeline):
    from napari_photon.browse import ConnectionFailed, connect_server

    with pytest.raises(ConnectionFailed) as caught:
        connect_server(_embedded_settings(password="wrong-password-xyz"))
    assert "wrong-password-xyz" not in str(caught.value)
    assert "password" in str(caught.value).lower() or "auth" in str(caught.value).lower()
