"""The channels a notification travels by, as adapters behind one interface: a channel takes a
message, the address it goes to and its idempotency key, and either delivers it or raises
``Retry`` (try again later: the server is down, busy, or answered 4xx) or ``Permanent`` (never:
the address is refused, the token is revoked). Adding SMS or another channel is one module here
and one entry in ``CHANNELS``. The in-app bell is not a channel: the notification row is it."""

from __future__ import annotations

from service.channels import email, line
from service.channels.base import Message, Permanent, Retry, Sender

SENDERS: dict[str, Sender] = {"email": email.send, "line": line.send}
#: whether the deployment set a channel up (one that is not is not tried at all)
CONFIGURED = {"email": email.configured, "line": line.configured}

__all__ = ["CONFIGURED", "SENDERS", "Message", "Permanent", "Retry", "Sender", "line"]
