"""What a test scripts (``FakeResponse``) and what the server records (``RecordedRequest``)."""

from __future__ import annotations

import email.parser
import email.policy
import time
from dataclasses import dataclass, field
from typing import Any


@dataclass
class FakeResponse:
    """One scripted answer. ``body`` None means the normal success body."""

    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    malformed: bool = False
    drop: bool = False
    delay: float = 0.0

    @classmethod
    def error(
        cls, status: int, message: str | None = None, *, retry_after: float | None = None
    ) -> FakeResponse:
        headers = {"Retry-After": f"{retry_after:g}"} if retry_after is not None else {}
        return cls(status=status, body=message or f"fake error {status}", headers=headers)

    @classmethod
    def malformed_body(cls) -> FakeResponse:
        return cls(malformed=True)

    @classmethod
    def dropped(cls) -> FakeResponse:
        return cls(drop=True)


@dataclass
class RecordedRequest:
    method: str
    path: str
    provider: str | None
    route: str | None
    headers: dict[str, str]  # all of them, lower-cased names (tests check Authorization)
    query: dict[str, str]
    json: Any = None
    form: dict[str, Any] = field(default_factory=dict)  # multipart text fields
    files: dict[str, dict[str, Any]] = field(default_factory=dict)  # name -> filename, size
    body_size: int = 0
    at: float = field(default_factory=time.monotonic)


def parse_multipart(content_type: str, body: bytes) -> tuple[dict[str, Any], dict[str, Any]]:
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode()
    msg = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + body)
    form: dict[str, Any] = {}
    files: dict[str, dict[str, Any]] = {}
    for part in msg.iter_parts():
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True) or b""
        if part.get_filename() is not None:
            files[name] = {
                "filename": part.get_filename(),
                "size": len(payload),
                "content_type": part.get_content_type(),
                "data": payload,
            }
        elif name in form:
            form[name] = [*(form[name] if isinstance(form[name], list) else [form[name]])]
            form[name].append(payload.decode())
        else:
            form[name] = payload.decode()
    return form, files
