"""HTTP clients handed to provider SDKs (``openai``, ``deepgram-sdk``), bounded per call.

The SDKs' own timeouts apply to each socket operation: a server that trickles a chat completion
one byte every half second, or streams a body without end, never trips them and holds a run
for as long as it likes. Every request through :func:`sdk_http_client` instead has ONE
wall-clock deadline over DNS, connect, TLS, upload, response headers and the whole body (also
when the SDK iterates the body later), and a cap on the body's bytes:

- :class:`DeadlineTransport` sends through an httpcore pool whose network backend bounds every
  operation by the deadline of the calling thread (``deadline.deadline_scope``), set for the
  request and again around each read of its body;
- past the deadline it raises :class:`CallDeadlineExceeded` (an ``httpx.ReadTimeout``), past the
  cap :class:`ResponseTooLarge` (an ``httpx.RemoteProtocolError``): the SDKs map both to their
  own timeout and connection errors, and ``providers`` maps those to transient errors.

At most one gzip or deflate layer is undone here, in bounded pieces, and the cap holds on the
decoded bytes too; the SDK then gets an identity body. Redirects are not followed (an API that
redirects is misconfigured, and each hop would get a fresh deadline) and no proxy is taken from
the environment (it would bypass this transport).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpcore
import httpx

from .deadline import DeadlineBackend, deadline_scope, decoded_body, tls_context
from .errors import NetError

_ERRORS: tuple[tuple[type[Exception], type[httpx.TransportError]], ...] = (
    (httpcore.ConnectTimeout, httpx.ConnectTimeout),
    (httpcore.ReadTimeout, httpx.ReadTimeout),
    (httpcore.WriteTimeout, httpx.WriteTimeout),
    (httpcore.PoolTimeout, httpx.PoolTimeout),
    (httpcore.TimeoutException, httpx.TimeoutException),
    (httpcore.ConnectError, httpx.ConnectError),
    (httpcore.ReadError, httpx.ReadError),
    (httpcore.WriteError, httpx.WriteError),
    (httpcore.NetworkError, httpx.NetworkError),
    (httpcore.RemoteProtocolError, httpx.RemoteProtocolError),
    (httpcore.LocalProtocolError, httpx.LocalProtocolError),
    (httpcore.ProtocolError, httpx.ProtocolError),
    (httpcore.UnsupportedProtocol, httpx.UnsupportedProtocol),
)


class CallDeadlineExceeded(httpx.ReadTimeout):
    """The call's one wall-clock deadline passed (the SDKs treat it as a timeout)."""


class ResponseTooLarge(httpx.RemoteProtocolError):
    """The answer's body is over the byte cap, or in an encoding we refuse to decode."""


@contextmanager
def _as_httpx(deadline: float, deadline_s: float) -> Iterator[None]:
    """Run a network step within ``deadline``; httpcore errors become httpx's (what the SDKs
    catch), and a timeout once the deadline has passed becomes :class:`CallDeadlineExceeded`."""
    try:
        with deadline_scope(deadline):
            yield
    except Exception as exc:
        if isinstance(exc, httpcore.TimeoutException) and time.monotonic() >= deadline:
            raise CallDeadlineExceeded(f"no complete answer within {deadline_s:g} s") from exc
        for core, ours in _ERRORS:
            if isinstance(exc, core):
                raise ours(str(exc) or type(exc).__name__) from exc
        raise


class _BoundedBody(httpx.SyncByteStream):
    """A response body read within the call's deadline and cut off at the byte cap, decoded."""

    def __init__(
        self,
        response: httpcore.Response,
        encoding: str | None,
        deadline: float,
        deadline_s: float,
        cap: int,
        host: str,
    ) -> None:
        self._response = response
        self._encoding = encoding
        self._deadline, self._deadline_s = deadline, deadline_s
        self._cap = cap
        self._host = host

    def _raw(self) -> Iterator[bytes]:
        chunks = self._response.iter_stream()
        received = 0
        while True:
            with _as_httpx(self._deadline, self._deadline_s):
                chunk = next(chunks, None)
            if chunk is None:
                return
            received += len(chunk)
            if received > self._cap:
                raise ResponseTooLarge(f"the answer from {self._host} is over {self._cap} bytes")
            if time.monotonic() >= self._deadline:
                raise CallDeadlineExceeded(f"no complete answer within {self._deadline_s:g} s")
            yield chunk

    def __iter__(self) -> Iterator[bytes]:
        decoded = 0
        try:
            for piece in decoded_body(self._raw(), self._encoding, self._host):
                decoded += len(piece)
                if decoded > self._cap:
                    raise ResponseTooLarge(
                        f"the answer from {self._host} decodes to over {self._cap} bytes"
                    )
                yield piece
        except NetError as exc:  # stacked, unknown or damaged content encoding
            raise ResponseTooLarge(str(exc).rstrip(".")) from exc

    def close(self) -> None:
        self._response.close()


class DeadlineTransport(httpx.BaseTransport):
    """An httpx transport with one deadline and one byte cap per request (module docstring)."""

    def __init__(
        self, *, deadline_s: float, max_response_bytes: int, max_connections: int = 100
    ) -> None:
        self.deadline_s = deadline_s
        self.max_response_bytes = max_response_bytes
        self._pool = httpcore.ConnectionPool(
            ssl_context=tls_context(),
            network_backend=DeadlineBackend(),
            max_connections=max_connections,
            max_keepalive_connections=20,
            keepalive_expiry=5.0,
            retries=0,
        )

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        deadline = time.monotonic() + self.deadline_s
        headers = [(k, v) for k, v in request.headers.raw if k.lower() != b"accept-encoding"]
        headers.append((b"Accept-Encoding", b"gzip, deflate"))
        core = httpcore.Request(
            method=request.method,
            url=httpcore.URL(
                scheme=request.url.raw_scheme,
                host=request.url.raw_host,
                port=request.url.port,
                target=request.url.raw_path,
            ),
            headers=headers,
            content=request.stream,
            extensions=request.extensions,
        )
        with _as_httpx(deadline, self.deadline_s):
            response = self._pool.handle_request(core)
        host = request.url.host
        declared = _header(response, b"content-length")
        if declared.isdigit() and int(declared) > self.max_response_bytes:
            response.close()
            raise ResponseTooLarge(
                f"the answer from {host} is {declared} bytes, over {self.max_response_bytes}"
            )
        encoding = _header(response, b"content-encoding") or None
        kept = response.headers
        if encoding:  # decoded here: the SDK must not decode (or trust the length) again
            dropped = (b"content-encoding", b"content-length")
            kept = [(k, v) for k, v in response.headers if k.lower() not in dropped]
        body = _BoundedBody(
            response, encoding, deadline, self.deadline_s, self.max_response_bytes, host
        )
        return httpx.Response(
            status_code=response.status, headers=kept, stream=body, extensions=response.extensions
        )

    def close(self) -> None:
        self._pool.close()


def _header(response: httpcore.Response, name: bytes) -> str:
    values = [v.decode("latin-1") for k, v in response.headers if k.lower() == name]
    return ", ".join(values)


def sdk_http_client(
    *, deadline_s: float, connect_timeout_s: float = 10.0, max_response_bytes: int
) -> httpx.Client:
    """An ``httpx.Client`` for an SDK: every request has one ``deadline_s`` wall-clock deadline
    and reads at most ``max_response_bytes`` (see the module docstring). The per-operation
    timeouts are the deadline itself, with connecting cut to ``connect_timeout_s``."""
    return httpx.Client(
        transport=DeadlineTransport(deadline_s=deadline_s, max_response_bytes=max_response_bytes),
        timeout=httpx.Timeout(deadline_s, connect=min(connect_timeout_s, deadline_s)),
        follow_redirects=False,
        trust_env=False,
    )
