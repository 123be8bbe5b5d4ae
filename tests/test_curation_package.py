"""The curation package: pure Python, importable without any GUI package."""

from __future__ import annotations

import subprocess
import sys

import napari_photon.curation as curation

GUI = ("napari", "vispy", "qtpy", "PyQt6", "PyQt5", "PySide6", "magicgui", "superqt")


def test_importing_the_model_imports_no_gui_package():
    code = ("import sys, napari_photon.curation; "
            f"print(sorted(m for m in {GUI!r} if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == "[]"


def test_every_public_name_is_there():
    for name in curation.__all__:
        assert getattr(curation, name) is not None, name
    assert set(curation.ACTIONS) <= set(curation.__all__)
