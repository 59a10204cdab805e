"""Builds the merged FtM model directory and points FtM at it, without importing FtM.

FtM reads ``FTM_MODEL_PATH`` once, at import, and that directory replaces its own schema
directory. So we build a merged directory (the installed package's schema files plus ours,
with upstream schemata that we extend merged in memory) and point FtM at it before anything
imports ``followthemoney``. This module stays light so that importing ``chainlight`` is
fast; ``chainlight.model.ftm`` loads the model itself.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).parent
SCHEMA_DIR = HERE / "schema"
EXTENSION_DIR = HERE / "extensions"


class ModelLoadError(RuntimeError):
    """The FtM model could not be loaded with our extension."""


def upstream_schema_dir() -> Path:
    """Locate the installed followthemoney's schema directory without importing it."""
    spec = importlib.util.find_spec("followthemoney")
    if spec is None or not spec.submodule_search_locations:
        raise ModelLoadError("followthemoney is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "schema"


def _yaml_files(directory: Path) -> list[Path]:
    return sorted(p for p in directory.glob("*.yaml") if p.is_file())


def _fingerprint(upstream: Path) -> str:
    digest = hashlib.sha256()
    for path in [*_yaml_files(upstream), *_yaml_files(SCHEMA_DIR), *_yaml_files(EXTENSION_DIR)]:
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def _merge_extension(upstream_data: dict[str, Any], extension: dict[str, Any], source: Path) -> None:
    for schema_name, addition in extension.items():
        if schema_name not in upstream_data:
            raise ModelLoadError(f"{source}: extends unknown upstream schema {schema_name!r}")
        properties = upstream_data[schema_name].setdefault("properties", {})
        for prop_name, prop in (addition.get("properties") or {}).items():
            if prop_name in properties:
                raise ModelLoadError(f"{source}: {schema_name}.{prop_name} already exists upstream")
            properties[prop_name] = prop


def build_model_dir(cache_root: Path | None = None) -> Path:
    """Build (once per content fingerprint) the merged model directory and return it."""
    upstream = upstream_schema_dir()
    root = cache_root or Path(os.environ.get("CHAINLIGHT_CACHE", Path.home() / ".cache" / "chainlight"))
    target = root / f"ftm-model-{_fingerprint(upstream)}"
    if target.is_dir():
        return target
    root.mkdir(parents=True, exist_ok=True)
    extensions: dict[str, tuple[dict[str, Any], Path]] = {}
    for path in _yaml_files(EXTENSION_DIR):
        for name, addition in (yaml.safe_load(path.read_text("utf-8")) or {}).items():
            extensions[name] = ({name: addition}, path)
    ours = {p.name for p in _yaml_files(SCHEMA_DIR)}
    staging = Path(tempfile.mkdtemp(prefix="ftm-model-", dir=root))
    try:
        for path in _yaml_files(upstream):
            if path.name in ours:
                raise ModelLoadError(f"our schema {path.name} would replace an upstream schema")
            data = yaml.safe_load(path.read_text("utf-8"))
            touched = [n for n in data if n in extensions]
            if touched:
                for name in touched:
                    _merge_extension(data, extensions.pop(name)[0], path)
                (staging / path.name).write_text(yaml.safe_dump(data, sort_keys=False), "utf-8")
            else:
                shutil.copyfile(path, staging / path.name)
        if extensions:
            raise ModelLoadError(f"extensions for unknown schemata: {sorted(extensions)}")
        for path in _yaml_files(SCHEMA_DIR):
            shutil.copyfile(path, staging / path.name)
        try:
            staging.rename(target)
        except OSError:
            # Another process built the same fingerprint first; theirs is identical.
            shutil.rmtree(staging, ignore_errors=True)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return target


def activate() -> Path:
    """Point FtM at the merged model directory. Called when the ``chainlight`` package is first
    imported, so that no import order of ours or of a user's script can load FtM without it."""
    model_dir = build_model_dir()
    if "followthemoney" not in sys.modules:
        os.environ["FTM_MODEL_PATH"] = str(model_dir)
    return model_dir


