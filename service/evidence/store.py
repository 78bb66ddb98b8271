"""Attachment bytes kept by content: ``<instance>/attachments/<first two hex digits>/<sha256>``.
The same bytes are kept once, however many steps they are attached to, and a kept file is never
changed or removed. A file is written (and synced) before the transaction that records it
commits: a command that then fails leaves a file no row names, which is harmless (it is the
content of its own name) and is reused if the same bytes are attached later."""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO

CHUNK = 256 * 1024


@dataclass
class Received:
    """An upload written to a temporary file of the store, not yet kept."""

    path: Path
    sha256: str
    size: int  # at most the limit it was received with, plus one byte
    head: bytes  # its first bytes, for telling its kind


class Store:
    def __init__(self, instance_path: Path):
        self.root = instance_path / "attachments"

    def path(self, sha256: str) -> Path:
        if len(sha256) != 64 or not all(ch in "0123456789abcdef" for ch in sha256):
            raise ValueError(f"not a SHA-256: {sha256!r}")
        return self.root / sha256[:2] / sha256

    def receive(self, stream: IO[bytes], limit: int, head_bytes: int = 16) -> Received:
        """Copy ``stream`` to a temporary file, hashing it on the way; stop after ``limit`` + 1
        bytes, so that a file too large is never read in full."""
        incoming = self.root / "incoming"
        incoming.mkdir(parents=True, exist_ok=True)
        digest, size, head = hashlib.sha256(), 0, b""
        handle, name = tempfile.mkstemp(dir=incoming)
        try:
            with os.fdopen(handle, "wb") as out:
                while size <= limit:
                    chunk = stream.read(min(CHUNK, limit + 1 - size))
                    if not chunk:
                        break
                    if len(head) < head_bytes:
                        head += chunk[:head_bytes - len(head)]
                    digest.update(chunk)
                    out.write(chunk)
                    size += len(chunk)
                out.flush()
                os.fsync(out.fileno())
        except BaseException:
            os.unlink(name)
            raise
        return Received(Path(name), digest.hexdigest(), size, head)

    def keep(self, received: Received) -> None:
        """Move a received file to its place (or drop it: the same bytes are kept already)."""
        target = self.path(received.sha256)
        if target.exists():
            self.discard(received)
            return
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(received.path, target)
        directory = os.open(target.parent, os.O_RDONLY)
        try:
            os.fsync(directory)  # the rename itself survives a crash
        finally:
            os.close(directory)

    def discard(self, received: Received) -> None:
        received.path.unlink(missing_ok=True)

    def read(self, sha256: str) -> bytes | None:
        """The kept bytes; None when the file is missing."""
        try:
            return self.path(sha256).read_bytes()
        except FileNotFoundError:
            return None
