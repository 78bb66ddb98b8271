"""LINE Messaging API push (https://developers.line.biz/en/reference/messaging-api/#send-push-message):
POST {endpoint} with the channel access token as a Bearer token, a JSON body ``{"to": user id,
"messages": [{"type": "text", "text": ...}]}`` and the idempotency key as ``X-Line-Retry-Key`` (LINE
answers 409 to a retry of a push it already accepted: delivered, not twice). 401/403: the token is
revoked or wrong (permanent, the administrators are told); 429 and 5xx: try again later."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import urllib.error
import urllib.request
import uuid
from typing import Any

from service.channels.base import Message, Permanent, Retry

TIMEOUT_SECONDS = 20
MAX_TEXT = 5000  # LINE's limit for one text message


def configured(settings: Any) -> bool:
    return bool(settings.line_token)


def send(settings: Any, message: Message, address: str, key: str) -> None:
    if not settings.line_token:
        raise Permanent("ยังไม่ได้ตั้งค่า LINE (PHAEN_LINE_TOKEN)")
    text = f"{message.subject}\n\n{message.body}"[:MAX_TEXT]
    body = json.dumps({"to": address, "messages": [{"type": "text", "text": text}]}, ensure_ascii=False)
    request = urllib.request.Request(settings.line_endpoint, data=body.encode("utf-8"), method="POST", headers={
        "Content-Type": "application/json", "Authorization": f"Bearer {settings.line_token}",
        "X-Line-Retry-Key": str(uuid.UUID(hex=key))})
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS):  # noqa: S310 - the configured endpoint
            return
    except urllib.error.HTTPError as err:
        if err.code == 409:  # LINE: this retry key was accepted before
            return
        if err.code in (401, 403):
            raise Permanent(f"LINE ปฏิเสธโทเค็นของช่องทาง ({err.code}) กรุณาตรวจสอบ PHAEN_LINE_TOKEN") from err
        if err.code == 429 or err.code >= 500:
            raise Retry(f"LINE ตอบ {err.code}") from err
        raise Permanent(f"LINE ตอบ {err.code}: {err.read(500).decode('utf-8', 'replace')}") from err
    except (urllib.error.URLError, OSError) as err:
        raise Retry(f"ติดต่อ LINE ไม่ได้: {err}") from err


def signed(secret: str, body: bytes, signature: str | None) -> bool:
    """Whether a webhook call came from LINE: its X-Line-Signature is the base64 HMAC-SHA256 of the
    raw body under the channel secret (https://developers.line.biz/en/reference/messaging-api/#signature-validation).
    No secret set: nothing is believed."""
    if not secret or not signature:
        return False
    expected = base64.b64encode(hmac.new(secret.encode("utf-8"), body, hashlib.sha256).digest()).decode("ascii")
    return hmac.compare_digest(expected.encode("ascii"), signature.strip().encode("utf-8", "replace"))
