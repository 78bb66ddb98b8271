"""E-mail over SMTP (settings: PHAEN_SMTP_*): one message with a Thai subject, a plain-text and an
HTML part, its idempotency key as the Message-ID (a duplicate from a retry is recognisable by mail
clients and by the tests), STARTTLS when configured."""

from __future__ import annotations

import html
import smtplib
from email.message import EmailMessage
from email.utils import formatdate
from typing import Any

from service.channels.base import Message, Permanent, Retry

TIMEOUT_SECONDS = 20


def configured(settings: Any) -> bool:
    return bool(settings.smtp_host)


def send(settings: Any, message: Message, address: str, key: str) -> None:
    if not settings.smtp_host:
        raise Permanent("ยังไม่ได้ตั้งค่าเซิร์ฟเวอร์อีเมล (PHAEN_SMTP_HOST)")
    mail = EmailMessage()
    mail["Subject"] = message.subject
    mail["From"] = settings.mail_from
    mail["To"] = address
    mail["Date"] = formatdate(localtime=False)
    mail["Message-ID"] = f"<{key}@phaen>"
    mail.set_content(message.body)
    paragraphs = "".join(f"<p>{html.escape(part).replace(chr(10), '<br>')}</p>" for part in message.body.split("\n\n"))
    mail.add_alternative(f'<!doctype html><html lang="th"><body>{paragraphs}'
                         f'<p><a href="{html.escape(message.link)}">{html.escape(message.link)}</a></p></body></html>',
                         subtype="html")
    try:
        with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=TIMEOUT_SECONDS) as smtp:
            if settings.smtp_starttls:
                smtp.starttls()
            if settings.smtp_user:
                smtp.login(settings.smtp_user, settings.smtp_password or "")
            smtp.send_message(mail)
    except smtplib.SMTPRecipientsRefused as err:
        codes = [code for code, _ in err.recipients.values()]
        if all(500 <= code < 600 for code in codes):
            raise Permanent(f"เซิร์ฟเวอร์อีเมลปฏิเสธผู้รับ {address}: {codes}") from err
        raise Retry(f"เซิร์ฟเวอร์อีเมลยังไม่รับผู้รับ {address}: {codes}") from err
    except smtplib.SMTPResponseException as err:
        if 500 <= err.smtp_code < 600:
            raise Permanent(f"เซิร์ฟเวอร์อีเมลตอบ {err.smtp_code}: {_text(err.smtp_error)}") from err
        raise Retry(f"เซิร์ฟเวอร์อีเมลตอบ {err.smtp_code}: {_text(err.smtp_error)}") from err
    except (TimeoutError, smtplib.SMTPException, OSError) as err:
        raise Retry(f"ติดต่อเซิร์ฟเวอร์อีเมลไม่ได้: {err}") from err


def _text(raw: bytes | str) -> str:
    return raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
