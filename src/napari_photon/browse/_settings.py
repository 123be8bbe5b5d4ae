"""Connection settings for a database server, and saving them the way DataJoint reads them.

The password lives in memory only. :func:`save_settings` is the one place that writes
settings to disk, and only when a person asks for it: non-secret values go into a
``datajoint.json`` and the user name and password into the ``.secrets/`` folder beside
it, which is DataJoint's own configuration mechanism (DataJoint's documentation: "Database
credentials should never be stored in config files"; ``.secrets/database.user`` and
``.secrets/database.password`` are read when DataJoint finds that ``datajoint.json``).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

__all__ = ["BACKENDS", "ConnectionSettings", "SavedSettings", "save_settings"]

Backend = Literal["postgresql", "mysql"]
#: database backends DataJoint 2 supports
BACKENDS: tuple[str, ...] = ("postgresql", "mysql")
_DEFAULT_PORTS = {"postgresql": 5432, "mysql": 3306}

CONFIG_FILENAME = "datajoint.json"
SECRETS_DIRNAME = ".secrets"


@dataclass(frozen=True)
class ConnectionSettings:
    """Where and as whom to connect.

    Parameters
    ----------
    backend : {"postgresql", "mysql"}
        DataJoint's ``database.backend``.
    host : str
        Server host name or address.
    port : int or None
        TCP port; None means the backend's default (5432 or 3306).
    user : str
        Database user.
    password : str
        Kept in memory only; excluded from ``repr`` and never logged.
    database_name : str or None
        PostgreSQL database (DataJoint's ``database.name``; ``postgres`` when None).
    use_tls : bool or None
        None lets DataJoint try TLS and fall back to a plain connection.
    """

    backend: Backend = "postgresql"
    host: str = "localhost"
    port: int | None = None
    user: str = ""
    password: str = field(default="", repr=False)
    database_name: str | None = None
    use_tls: bool | None = None

    def __post_init__(self) -> None:
        if self.backend not in BACKENDS:
            raise ValueError(f"backend must be one of {BACKENDS}, got {self.backend!r}")
        if not str(self.host).strip():
            raise ValueError("host must not be empty")
        if self.port is not None and not 0 < int(self.port) < 65536:
            raise ValueError(f"port must be between 1 and 65535, got {self.port}")

    @property
    def resolved_port(self) -> int:
        """The port, or the backend's default port."""
        return int(self.port) if self.port else _DEFAULT_PORTS[self.backend]

    @property
    def address(self) -> str:
        """``user@host:port`` (no password), for messages."""
        who = f"{self.user}@" if self.user else ""
        return f"{who}{self.host}:{self.resolved_port}"

    def without_password(self) -> ConnectionSettings:
        return replace(self, password="")

    def redact(self, text: str) -> str:
        """``text`` with the password replaced, for error messages built by drivers."""
        if self.password and self.password in text:
            text = text.replace(self.password, "********")
        return text

    @classmethod
    def from_datajoint_config(cls, config: Any = None) -> ConnectionSettings:
        """Prefill from DataJoint's configuration (password left out).

        Parameters
        ----------
        config : datajoint.settings.Config, optional
            Default ``datajoint.config``.
        """
        if config is None:
            import datajoint as dj

            config = dj.config
        backend = config["database.backend"]
        return cls(
            backend=backend if backend in BACKENDS else "postgresql",
            host=config["database.host"] or "localhost",
            port=config["database.port"],
            user=config["database.user"] or "",
            database_name=config.get("database.name"),
            use_tls=config["database.use_tls"],
        )


@dataclass(frozen=True)
class SavedSettings:
    """Files written by :func:`save_settings`."""

    config_file: Path
    secrets: tuple[Path, ...]


def _write_private(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` readable by its owner only (mode 0600 from creation)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    path.chmod(0o600)


def save_settings(
    settings: ConnectionSettings, folder: str | Path, *, save_password: bool = False
) -> SavedSettings:
    """Save ``settings`` where DataJoint finds them when started in ``folder`` (or below).

    Writes (merging into an existing file) ``folder/datajoint.json`` with ``database.backend``,
    ``host``, ``port``, ``name`` and ``use_tls``; and ``folder/.secrets/database.user`` and,
    with ``save_password``, ``folder/.secrets/database.password`` (mode 0600; the folder
    gets a ``.gitignore`` that ignores everything), as DataJoint's settings expect.

    Parameters
    ----------
    settings : ConnectionSettings
    folder : path
        Usually the project folder napari is started from.
    save_password : bool
        Also store the password in ``.secrets/`` (off by default: asked for explicitly).

    Returns
    -------
    SavedSettings
        The files written.
    """
    folder = Path(folder).expanduser().resolve()
    folder.mkdir(parents=True, exist_ok=True)
    config_file = folder / CONFIG_FILENAME
    data: dict[str, Any] = {}
    if config_file.exists():
        try:
            data = json.loads(config_file.read_text())
        except ValueError as err:
            raise ValueError(f"{config_file} is not valid JSON ({err}); fix or remove it") from None
        if not isinstance(data, dict):
            raise ValueError(f"{config_file} does not hold a JSON object")
    # flat "database.x" keys would override the nested section: drop them
    for key in [k for k in data if k.startswith("database.")]:
        del data[key]
    database = dict(data.get("database") or {})
    database.pop("user", None)
    database.pop("password", None)
    database.update(
        backend=settings.backend,
        host=settings.host,
        port=settings.resolved_port,
    )
    if settings.database_name:
        database["name"] = settings.database_name
    if settings.use_tls is not None:
        database["use_tls"] = settings.use_tls
    data["database"] = database
    config_file.write_text(json.dumps(data, indent=2) + "\n")

    secrets_dir = folder / SECRETS_DIRNAME
    secrets_dir.mkdir(mode=0o700, exist_ok=True)
    gitignore = secrets_dir / ".gitignore"
    if not gitignore.exists():
        gitignore.write_text("# Never commit secrets\n*\n!.gitignore\n")
    written = []
    if settings.user:
        _write_private(secrets_dir / "database.user", settings.user)
        written.append(secrets_dir / "database.user")
    if save_password:
        _write_private(secrets_dir / "database.password", settings.password)
        written.append(secrets_dir / "database.password")
    return SavedSettings(config_file=config_file, secrets=tuple(written))
