"""napari-photon: two-photon movies in a DataJoint pipeline, viewed and curated in napari."""

__version__ = "0.1.0"
