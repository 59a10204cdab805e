"""The one place that loads the FollowTheMoney model with Chainlight's supply-chain extension.

FtM reads ``FTM_MODEL_PATH`` once, at import, and that directory replaces its own schema
directory. :mod:`chainlight.model.ftm_path` builds the merged directory (the installed
package's schema files plus ours) and sets the variable when ``chainlight`` is imported.
Import :data:`model` from here, never ``followthemoney.model``.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from chainlight.model.ftm_path import (
    EXTENSION_DIR,
    SCHEMA_DIR,
    ModelLoadError,
    _yaml_files,
    activate,
    build_model_dir,
    upstream_schema_dir,
)

__all__ = [
    "EXTENSION_DIR",
    "EXTENSION_SCHEMATA",
    "SCHEMA_DIR",
    "ModelLoadError",
    "build_model_dir",
    "model",
    "upstream_schema_dir",
]


def _load() -> Any:
    model_dir = activate()
    if "followthemoney" in sys.modules:
        from followthemoney.model import Model

        current = Model._instance
        if current is not None and Path(current.path) != model_dir:
            raise ModelLoadError(
                "followthemoney was imported before chainlight.model.ftm; import chainlight first"
            )
    os.environ["FTM_MODEL_PATH"] = str(model_dir)
    import followthemoney.settings as ftm_settings

    ftm_settings.MODEL_PATH = str(model_dir)
    from followthemoney.model import Model

    if Model._instance is None:
        Model._instance = Model(str(model_dir))
    return Model._instance


model = _load()

#: Schemata defined by Chainlight's supply-chain extension.
EXTENSION_SCHEMATA: tuple[str, ...] = tuple(p.stem for p in _yaml_files(SCHEMA_DIR))
