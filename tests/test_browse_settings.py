"""``browse.ConnectionSettings`` and ``save_settings`` (DataJoint's datajoint.json + .secrets/)."""

from __future__ import annotations

import json
import stat

import pytest


def test_password_never_in_repr():
    from napari_photon.browse import ConnectionSettings

    s = ConnectionSettings("mysql", "db.example.org", None, "alice", "s3cr3t-pw")
    assert "s3cr3t-pw" not in repr(s) and "s3cr3t-pw" not in s.address
    assert s.resolved_port == 3306 and s.address == "alice@db.example.org:3306"
    assert s.redact("FATAL: bad s3cr3t-pw") == "FATAL: bad ********"
    assert s.without_password().password == ""
    assert ConnectionSettings(host="h").resolved_port == 5432


@pytest.mark.parametrize("kwargs", [{"backend": "oracle"}, {"host": " "}, {"port": 70000}])
def test_invalid_settings(kwargs):
    from napari_photon.browse import ConnectionSettings

    with pytest.raises(ValueError):
        ConnectionSettings(**kwargs)


def test_save_writes_datajoint_config_and_private_secrets(tmp_path):
    from datajoint.settings import Config

    from napari_photon.browse import ConnectionSettings, save_settings

    (tmp_path / "datajoint.json").write_text(
        json.dumps(
            {"stores": {"default": "x"}, "database.password": "old", "database": {"user": "u"}}
        )
    )
    s = ConnectionSettings("postgresql", "db.lab", 5433, "alice", "pw-123", "lab", False)
    saved = save_settings(s, tmp_path)
    data = json.loads(saved.config_file.read_text())
    assert data["stores"] == {"default": "x"}  # other settings kept
    assert data["database"] == {
        "backend": "postgresql",
        "host": "db.lab",
        "port": 5433,
        "name": "lab",
        "use_tls": False,
    }
    assert "pw-123" not in saved.config_file.read_text() and "database.password" not in data
    assert [p.name for p in saved.secrets] == ["database.user"]  # password only on request
    saved = save_settings(s, tmp_path, save_password=True)
    secret = tmp_path / ".secrets" / "database.password"
    assert secret.read_text() == "pw-123"
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600
    assert "*" in (tmp_path / ".secrets" / ".gitignore").read_text()

    # DataJoint itself reads them back
    config = Config()
    config.load(saved.config_file)
    config._load_secrets(tmp_path / ".secrets")
    assert (config.database.host, config.database.port, config.database.user) == (
        "db.lab",
        5433,
        "alice",
    )
    assert config.database.password.get_secret_value() == "pw-123"
