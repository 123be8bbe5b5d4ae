"""napari-photon's database: DataJoint on a configured server or on an embedded PostgreSQL.

No Qt, no napari here. See :mod:`napari_photon.db._connect` for how the server is chosen
(``DJ_HOST`` / ``DJ_BACKEND`` / ``datajoint.json`` versus the embedded server, and
``NAPARI_PHOTON_DATABASE=embedded``) and :mod:`napari_photon.db._embedded` for the embedded
server's security and lifetime.
"""

from ._connect import configure, connect, database_is_configured, embedded_server
from ._embedded import EmbeddedPostgres
from ._home import home, raw_root

__all__ = [
    "EmbeddedPostgres",
    "configure",
    "connect",
    "database_is_configured",
    "embedded_server",
    "home",
    "raw_root",
]
