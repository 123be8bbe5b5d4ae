"""napari docks of napari-photon: all the plugin's Qt code lives in this package.

Each dock is a module of its own (``_browser``: the pipeline browser, ``_process``: process
recording, ``_populate_dock``: populate), found by napari through the npe2 manifest
(``napari.yaml``). They hold no science: they call :mod:`napari_photon.browse` and
:mod:`napari_photon.pipeline`, in thread workers, and use Qt only through ``qtpy``.
Nothing is imported here, so opening one dock does not import the others.
"""
