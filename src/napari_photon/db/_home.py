"""Where napari-photon keeps its local state (database, object stores, raw files).

Layout of :func:`home`::

    <home>/
        postgres/          PostgreSQL data directory of the embedded server
        postgres.password  password of the embedded server's ``postgres`` role (mode 0600)
        run/               runtime files: lock, state and client lists (mode 0700)
        stores/active/     default DataJoint object store ("active")
        stores/archive/    second DataJoint object store ("archive")
        raw/               default root of raw TIFF files (see :func:`raw_root`)

Environment variables:

``NAPARI_PHOTON_HOME``
    Use this folder instead of ``platformdirs.user_data_dir("napari-photon")``.
``NAPARI_PHOTON_RAW_ROOT``
    Use this folder as the raw-file root instead of ``<home>/raw``.
"""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

HOME_ENV = "NAPARI_PHOTON_HOME"
RAW_ROOT_ENV = "NAPARI_PHOTON_RAW_ROOT"

__all__ = ["home", "raw_root", "HOME_ENV", "RAW_ROOT_ENV"]


def home() -> Path:
    """Return napari-photon's data folder, creating it (and its sub folders) if missing.

    ``NAPARI_PHOTON_HOME`` when set, else ``platformdirs.user_data_dir("napari-photon")``.
    """
    env = os.environ.get(HOME_ENV)
    if env:
        path = Path(env).expanduser()
    else:
        path = Path(platformdirs.user_data_dir("napari-photon", appauthor=False))
    path = path.resolve()
    path.mkdir(parents=True, exist_ok=True)
    for sub in ("stores/active", "stores/archive", "raw"):
        (path / sub).mkdir(parents=True, exist_ok=True)
    return path


def raw_root() -> Path:
    """Return the root folder of raw TIFF files, creating it if missing.

    ``NAPARI_PHOTON_RAW_ROOT`` when set, else ``home() / "raw"``.
    """
    env = os.environ.get(RAW_ROOT_ENV)
    if env:
        path = Path(env).expanduser().resolve()
        path.mkdir(parents=True, exist_ok=True)
        return path
    return home() / "raw"
