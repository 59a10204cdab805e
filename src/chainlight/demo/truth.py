"""The planted ground truth: who is who across sources, and which patterns were planted.

Mentions are streamed to a side file while sources are written (a large world has millions)
and copied into ``truth.json`` at the end, so memory stays bounded. Each mention carries the
entity id exactly as the reader computes it, so precision and recall can be measured against
what ends up in the evidence store.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import IO, Any

import orjson


class Truth:
    def __init__(self, out_dir: Path) -> None:
        self.out_dir = out_dir
        self._mentions_path = out_dir / ".truth-mentions.jsonl.part"
        self._mentions: IO[bytes] = self._mentions_path.open("wb")
        self._seen: set[bytes] = set()
        self.mention_count = 0
        self.patterns: dict[str, list[dict[str, Any]]] = {}

    def mention(self, actor: str, dataset: str, fmt: str, file: str, entity_id: str, name: str) -> None:
        """Record that ``actor`` appears in ``file`` as ``entity_id`` written ``name`` (once each)."""
        digest = hashlib.blake2b(f"{actor}\x1f{file}\x1f{entity_id}\x1f{name}".encode(), digest_size=12).digest()
        if digest in self._seen:
            return
        self._seen.add(digest)
        self.mention_count += 1
        self._mentions.write(
            orjson.dumps(
                {
                    "actor": actor,
                    "dataset": dataset,
                    "format": fmt,
                    "file": file,
                    "entity_id": entity_id,
                    "name_as_written": name,
                }
            )
        )
        self._mentions.write(b"\n")

    def pattern(self, kind: str, **details: Any) -> None:
        self.patterns.setdefault(kind, []).append(details)

    def write(self, header: dict[str, Any], actors: list[dict[str, Any]]) -> Path:
        """``truth.json``: header fields, ``actors``, ``patterns``, then ``mentions`` (streamed)."""
        self._mentions.close()
        path = self.out_dir / "truth.json"
        with path.open("wb") as out:
            out.write(b"{")
            for key, value in header.items():
                out.write(orjson.dumps(key) + b":" + orjson.dumps(value) + b",\n")
            out.write(b'"actors":[\n')
            for i, actor in enumerate(actors):
                out.write((b",\n" if i else b"") + orjson.dumps(actor))
            out.write(b'\n],\n"patterns":')
            out.write(orjson.dumps(self.patterns, option=orjson.OPT_SORT_KEYS | orjson.OPT_INDENT_2))
            out.write(b',\n"mentions":[\n')
            first = True
            with self._mentions_path.open("rb") as mentions:
                for line in mentions:
                    out.write((b"" if first else b",\n") + line.rstrip(b"\n"))
                    first = False
            out.write(b"\n]}\n")
        self._mentions_path.unlink()
        self._seen.clear()
        return path

    def abandon(self) -> None:
        self._mentions.close()
        self._mentions_path.unlink(missing_ok=True)
