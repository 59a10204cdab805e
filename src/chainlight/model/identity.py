"""How every reader turns source keys into entity ids, in one place.

The synthetic world's truth file and later stages (resolution benchmarks, tests) compute the
same ids from the same keys, so these functions are the contract between readers and
everything that refers to what they load. Ids are opaque sha1 digests of normalised keys,
except ports and airports, whose ids stay readable because people type them.

- :func:`dataset_key`: keys that only mean something inside one source (a goAML person,
  a party number in one customs system, a BODS recordId): the dataset name is part of the id.
- :func:`natural_key`: keys that name the same thing in every source (a bill of lading
  number, a CITES permit number with its issuing country, a seizure case id): no dataset,
  so statements from several datasets land on one entity.
"""

from __future__ import annotations

import hashlib


def _norm(key: object) -> str:
    return " ".join(str(key if key is not None else "").split()).casefold()


def _digest(parts: list[str]) -> str:
    return hashlib.sha1("\x1f".join(parts).encode("utf-8")).hexdigest()  # noqa: S324 - identifier


def dataset_key(dataset: str, kind: str, *keys: object) -> str:
    """Id of an entity whose key is local to one dataset."""
    return _digest([dataset, kind, *(_norm(k) for k in keys)])


def natural_key(kind: str, *keys: object) -> str:
    """Id of an entity whose key is shared across sources."""
    return _digest([kind, *(_norm(k) for k in keys)])


def port_id(code: str) -> str:
    """``KEMBA`` (UN/LOCODE, 5 chars) -> ``port-kemba``; ``NBO`` (IATA, 3 chars) -> ``airport-nbo``."""
    clean = "".join(code.split()).casefold()
    if len(clean) == 3:
        return f"airport-{clean}"
    return f"port-{clean}"


def wpi_port_id(number: object) -> str:
    """A World Port Index port without a UN/LOCODE."""
    return f"port-wpi-{_norm(number)}"
