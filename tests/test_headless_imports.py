"""A headless install (no napari, no Qt) imports, builds the CLI and runs the pipeline."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest
from conftest import _private_tmpdir

GUI = ("napari", "vispy", "qtpy", "PyQt6", "PyQt5", "PySide6", "magicgui", "superqt")
HEADLESS = ("pipeline", "storage", "motion", "rois", "traces", "calibration", "synthetic",
            "db", "browse", "cli")

# makes the GUI packages look not installed, as after `pip install napari-photon`
BLOCK_GUI = f"""
import sys
class NotInstalled:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {GUI!r}:
            raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
sys.meta_path.insert(0, NotInstalled())
"""


def _python(code: str, env: dict | None = None, timeout: int = 300) -> str:
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=env, timeout=timeout)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done.stdout


def test_no_gui_module_is_imported():
    modules = ", ".join(f"napari_photon.{name}" for name in HEADLESS)
    out = _python(f"""
import sys, {modules}
napari_photon.cli.build_parser()
print(sorted(name for name in {GUI!r} if name in sys.modules))
""")
    assert out.strip().splitlines()[-1] == "[]", out


def test_imports_and_parser_without_gui_packages():
    modules = ", ".join(f"napari_photon.{name}" for name in HEADLESS)
    out = _python(BLOCK_GUI + f"""
import {modules}
from napari_photon.cli import _demo
napari_photon.cli.build_parser()
print("napari installed:", _demo.napari_installed())
""")
    assert "napari installed: False" in out


@pytest.fixture
def headless_home():
    home = _private_tmpdir("napari-photon-headless-")
    yield home
    from napari_photon.db import EmbeddedPostgres

    EmbeddedPostgres(home).stop()
    shutil.rmtree(home, ignore_errors=True)


def test_demo_and_populate_run_without_napari(headless_home):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJ_", "NAPARI_PHOTON_"))}
    env.update(NAPARI_PHOTON_HOME=str(headless_home), MPLBACKEND="Agg", DISPLAY=":0")

    def cli(*args: str) -> str:
        return _python(BLOCK_GUI + f"""
from napari_photon.cli import main
code = main({list(args)!r})
assert not any(name in sys.modules for name in {GUI!r})
sys.exit(code)
""", env=env, timeout=600)

    out = cli("demo", "--frames", "60", "--size", "96", "--recordings", "1",
              "--output", str(headless_home / "out"))
    assert "registration RMS error" in out  # the pipeline ran
    assert "napari is not installed" in out and "napari-photon[napari]" in out
    out = cli("populate", "--schema", "photon_demo")
    assert "errors: 0" in out
