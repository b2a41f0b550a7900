"""Google credentials made at test time, and a 127.0.0.1 server that refuses them as Google does.

gcp-storage-emulator accepts any request, so "refused credentials" cannot be shown against it.
``RefusingGoogle`` is a small real HTTP server that plays Google's OAuth token endpoint and the
GCS JSON API with their error bodies: either the token exchange is refused (``invalid_grant``,
what a revoked or deleted service-account key gets) or the token is accepted and the API
answers 401. The real google-auth and google-cloud-storage code runs against it end to end.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any


def service_account_file(
    folder: Path, token_uri: str = "https://oauth2.googleapis.com/token"
) -> Path:
    """A service-account key file with a fresh RSA key (it signs for real; nothing knows it)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    info = {
        "type": "service_account",
        "project_id": "media-analysis-test",
        "private_key_id": "test-key-1",
        "private_key": pem,
        "client_email": "artifacts@media-analysis-test.iam.gserviceaccount.com",
        "client_id": "1234567890",
        "token_uri": token_uri,
    }
    path = folder / "service-account.json"
    path.write_text(json.dumps(info))
    return path


def authorized_user_file(folder: Path) -> Path:
    """A user's (gcloud) credentials file: valid for API calls, unable to sign URLs."""
    path = folder / "authorized-user.json"
    info = {
        "type": "authorized_user",
        "client_id": "id.apps.googleusercontent.com",
        "client_secret": "secret",
        "refresh_token": "refresh",
    }
    path.write_text(json.dumps(info))
    return path


class RefusingGoogle:
    """``refuse='token'``: the token endpoint says invalid_grant; ``'api'``: the API says 401."""

    def __init__(self, refuse: str) -> None:
        self.refuse = refuse
        self.seen_authorization: list[str] = []
        self.url = ""

    def handler(self) -> type[BaseHTTPRequestHandler]:
        google = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _answer(self, status: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if self.path.startswith("/token") and google.refuse == "token":
                    self._answer(
                        400,
                        {"error": "invalid_grant", "error_description": "Invalid JWT Signature."},
                    )
                elif self.path.startswith("/token"):
                    self._answer(
                        200, {"access_token": "tok", "expires_in": 3600, "token_type": "Bearer"}
                    )
                else:
                    self.do_GET()

            def do_GET(self) -> None:
                google.seen_authorization.append(self.headers.get("Authorization", ""))
                error = {
                    "code": 401,
                    "message": "Invalid Credentials",
                    "errors": [
                        {
                            "message": "Invalid Credentials",
                            "domain": "global",
                            "reason": "authError",
                        }
                    ],
                }
                self._answer(401, {"error": error})

        return Handler


@contextmanager
def refusing_google(refuse: str) -> Iterator[RefusingGoogle]:
    google = RefusingGoogle(refuse)
    server = ThreadingHTTPServer(("127.0.0.1", 0), google.handler())
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    google.url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield google
    finally:
        server.shutdown()
        server.server_close()
