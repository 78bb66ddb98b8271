"""What every channel takes and how it fails (channels/__init__.py says how they fit)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Message:
    subject: str
    body: str  # plain text; the e-mail's HTML part is made from it
    link: str  # the absolute URL of the page the message is about


class Retry(Exception):
    """Not delivered this time; the outbox tries again after a pause."""


class Permanent(Exception):
    """Never deliverable as addressed; marked failed at once, shown to the administrators."""


Sender = Callable[[Any, Message, str, str], None]  # (settings, message, address, key)
