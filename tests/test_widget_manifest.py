"""Every widget in the manifest opens through napari's plugin menu machinery."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "napari_photon"
WIDGETS = {
    "Pipeline browser": "napari_photon._widgets._browser",
    "Process recording": "napari_photon._widgets._process",
    "Populate": "napari_photon._widgets._populate_dock",
    "Curate ROIs": "napari_photon._widgets._curate",
}


def test_manifest_lists_the_widgets():
    from npe2 import PluginManager

    manager = PluginManager.instance()
    manager.discover()
    manifest = manager.get_manifest("napari-photon")
    names = {w.display_name for w in manifest.contributions.widgets}
    assert names == set(WIDGETS)
    commands = {c.id: c.python_name for c in manifest.contributions.commands}
    for widget in manifest.contributions.widgets:
        module = commands[widget.command].split(":")[0]
        assert module == WIDGETS[widget.display_name]


@pytest.mark.parametrize("name", sorted(WIDGETS))
def test_widget_opens(make_napari_viewer, name):
    assert importlib.util.find_spec(WIDGETS[name]) is not None, WIDGETS[name]
    viewer = make_napari_viewer()
    dock, widget = viewer.window.add_plugin_dock_widget("napari-photon", name)
    assert widget is not None and dock is not None
    assert dock.name == name or name in dock.name


def test_plugin_imports_no_qt_binding_directly():
    """Qt only through qtpy (and napari/magicgui/superqt), never PyQt*/PySide* imports."""
    pattern = re.compile(r"^\s*(from|import)\s+(PyQt\d|PySide\d)\b", re.MULTILINE)
    offenders = [
        str(path.relative_to(SRC)) for path in SRC.rglob("*.py") if pattern.search(path.read_text())
    ]
    assert offenders == []


def test_browse_models_import_no_qt():
    """The browse package is pure Python: importing it pulls in neither Qt nor napari."""
    import subprocess
    import sys

    code = (
        "import sys, napari_photon.browse\n"
        "bad = [m for m in sys.modules if m.split('.')[0] in "
        "('qtpy', 'PyQt6', 'PyQt5', 'PySide6', 'napari', 'magicgui', 'superqt')]\n"
        "print(bad); sys.exit(1 if bad else 0)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
