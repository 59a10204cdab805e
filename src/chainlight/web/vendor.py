"""Front-end libraries, served from the ``node_modules`` that ``scripts/setup`` installs.

The network explorer needs Cytoscape.js and the route map d3, topojson-client and the
world-atlas country outlines. They come from the npm registry as ``package-lock.json`` pins
them (``npm ci``) and are never committed; the app serves a fixed list of their files at
``/vendor/<name>`` so that pages load nothing from a CDN (the Content-Security-Policy allows
``'self'`` only, and an offline installation could not reach one anyway).

Only the names in :data:`FILES` are served: the name is looked up, never joined to a path,
so no request can read anything else under ``node_modules``. The folder is the repository's
``node_modules`` (found from this package's location in a source checkout), or the one
``CHAINLIGHT_NODE_MODULES`` names. When a file is missing the route answers 404 and the
pages that need it say how to install it (:func:`missing`) instead of drawing nothing.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from fastapi import HTTPException
from fastapi.responses import FileResponse

#: The environment variable that points at another ``node_modules`` folder.
ENVIRONMENT: Final = "CHAINLIGHT_NODE_MODULES"
#: These files change only when the lock file does; a day in the browser's cache is safe.
CACHE_CONTROL: Final = "public, max-age=86400"
SETUP_HINT: Final = "run scripts/setup (it installs them with 'npm ci')"


@dataclass(frozen=True, slots=True)
class VendorFile:
    package: str
    path: str  # inside node_modules
    media_type: str


FILES: Final[dict[str, VendorFile]] = {
    "cytoscape.min.js": VendorFile("cytoscape", "cytoscape/dist/cytoscape.min.js", "text/javascript"),
    "d3.min.js": VendorFile("d3", "d3/dist/d3.min.js", "text/javascript"),
    "topojson-client.min.js": VendorFile(
        "topojson-client", "topojson-client/dist/topojson-client.min.js", "text/javascript"
    ),
    "countries-110m.json": VendorFile("world-atlas", "world-atlas/countries-110m.json", "application/json"),
}

#: What each page loads from /vendor/.
NETWORK: Final = ("cytoscape.min.js",)
MAP: Final = ("d3.min.js", "topojson-client.min.js", "countries-110m.json")


def node_modules() -> Path:
    """The folder the files are read from: ``$CHAINLIGHT_NODE_MODULES``, else the checkout's."""
    configured = os.environ.get(ENVIRONMENT)
    if configured:
        return Path(configured)
    # src/chainlight/web/vendor.py -> the repository root holding package.json and node_modules.
    return Path(__file__).resolve().parents[3] / "node_modules"


def location(name: str) -> Path | None:
    """Where an allowlisted file lies, or None for a name that is not allowlisted."""
    found = FILES.get(name)
    return None if found is None else node_modules() / found.path


def missing(names: tuple[str, ...]) -> list[str]:
    """The npm packages behind those of ``names`` whose files are not installed."""
    packages = []
    for name in names:
        path = location(name)
        if path is None or not path.is_file():
            packages.append(FILES[name].package if name in FILES else name)
    return sorted(set(packages))


def vendor_file(name: str) -> FileResponse:
    path = location(name)
    if path is None:
        raise HTTPException(status_code=404, detail="There is nothing at this address.")
    if not path.is_file():
        raise HTTPException(
            status_code=404,
            detail=f"The front-end library {FILES[name].package} is not installed: {SETUP_HINT}.",
        )
    return FileResponse(path, media_type=FILES[name].media_type, headers={"Cache-Control": CACHE_CONTROL})
