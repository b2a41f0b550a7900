"""HTTP plumbing no server can stretch: one wall-clock deadline over a whole exchange, and
content decoding in bounded pieces.

- httpx and httpcore time out each socket operation on its own, so a server that sends one byte
  every two seconds never trips a read timeout and holds a call for as long as it likes. The
  network backend here lets every DNS lookup, connect, TLS handshake, read and write use only the
  time left before one deadline: either fixed for a pool (:func:`deadline_pool`, one download or
  one callback) or set per call on the calling thread (:func:`deadline_scope`, the SDK clients
  of ``clients.py``, whose pooled connections serve many calls).
- A decoder that inflates a whole chunk at once turns a 2 KB body with stacked
  ``Content-Encoding: gzip, gzip, deflate`` into gigabytes in memory before any size check.
  :func:`decoded_body` undoes at most one gzip or deflate layer, in pieces of at most
  ``PIECE_BYTES``, and refuses stacked or unknown encodings.
"""

from __future__ import annotations

import functools
import itertools
import re
import ssl
import threading
import time
import zlib
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import httpcore

from .addresses import is_ip_literal
from .errors import DownloadError, NetError
from .resolve import resolve

PIECE_BYTES = 256 * 1024  # largest decompressed piece held in memory at once
_GZIP = 16 + zlib.MAX_WBITS
_CODINGS = {"gzip": _GZIP, "x-gzip": _GZIP, "deflate": 0}
_INTERNALS = re.compile(r"\[Errno -?\d+\]\s*|\s*\(_ssl\.c:\d+\)")  # errno tags, C source lines
_scope = threading.local()


@contextmanager
def deadline_scope(deadline: float) -> Iterator[None]:
    """Bound the network operations of this thread by ``deadline`` (``time.monotonic()``)
    while the block runs; the previous scope (if any) is restored afterwards."""
    previous = getattr(_scope, "deadline", None)
    _scope.deadline = deadline
    try:
        yield
    finally:
        _scope.deadline = previous


def _time_left(fixed: float | None, timeout: float | None, error: type[Exception]) -> float | None:
    """The timeout for one operation: ``timeout`` cut to what is left before the deadline (the
    fixed one, else the thread's scope); ``error`` when nothing is left."""
    deadline = fixed if fixed is not None else getattr(_scope, "deadline", None)
    if deadline is None:
        return timeout
    left = deadline - time.monotonic()
    if left <= 0:
        raise error("the deadline has passed")
    return left if timeout is None else min(timeout, left)


class _DeadlineStream(httpcore.NetworkStream):
    """A connection whose every read, write and TLS handshake may use only the time left."""

    def __init__(self, stream: httpcore.NetworkStream, deadline: float | None) -> None:
        self._stream = stream
        self._deadline = deadline

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        budget = _time_left(self._deadline, timeout, httpcore.ReadTimeout)
        return self._stream.read(max_bytes, budget)

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._stream.write(buffer, _time_left(self._deadline, timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._stream.close()

    def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        budget = _time_left(self._deadline, timeout, httpcore.ConnectTimeout)
        tls = self._stream.start_tls(ssl_context, server_hostname, budget)
        return _DeadlineStream(tls, self._deadline)

    def get_extra_info(self, info: str) -> Any:
        return self._stream.get_extra_info(info)


class DeadlineBackend(httpcore.NetworkBackend):
    """httpcore's socket backend with every connection bounded by a deadline: ``deadline`` if
    given, else the calling thread's :func:`deadline_scope` at each operation. A host name is
    resolved within the deadline too (``socket.create_connection`` would wait for the resolver
    without limit), then each address is tried in turn."""

    def __init__(self, deadline: float | None = None) -> None:
        self._backend = httpcore.SyncBackend()
        self._deadline = deadline

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        budget = _time_left(self._deadline, timeout, httpcore.ConnectTimeout)
        addresses = [host]
        if not is_ip_literal(host):
            lookup_until = time.monotonic() + (budget if budget is not None else 30.0)
            try:
                addresses = [str(ip) for ip in resolve(host, port, lookup_until)]
            except NetError as exc:
                raise httpcore.ConnectError(str(exc).rstrip(".")) from exc
        failure: Exception | None = None
        for address in addresses:
            budget = _time_left(self._deadline, timeout, httpcore.ConnectTimeout)
            try:
                stream = self._backend.connect_tcp(
                    address, port, budget, local_address, socket_options
                )
            except httpcore.ConnectError as exc:
                failure = exc
                continue
            return _DeadlineStream(stream, self._deadline)
        assert failure is not None
        raise failure

    def sleep(self, seconds: float) -> None:
        self._backend.sleep(seconds)


@functools.cache
def tls_context() -> ssl.SSLContext:
    """The CA bundle of ``certifi``, loaded once (a large part of a second per load)."""
    import certifi

    return ssl.create_default_context(cafile=certifi.where())


def deadline_pool(deadline: float) -> httpcore.ConnectionPool:
    """A connection pool (no retries, no proxies) bounded by ``deadline`` (``time.monotonic``),
    for one download or one callback."""
    return httpcore.ConnectionPool(
        ssl_context=tls_context(), network_backend=DeadlineBackend(deadline), retries=0
    )


def _pieces(decoder: Any, data: bytes) -> Iterator[bytes]:
    """What ``data`` decompresses to, in pieces of at most ``PIECE_BYTES`` bytes; a piece cut at the
    limit is followed by what the decoder still holds, so nothing is lost."""
    while True:
        piece = decoder.decompress(data, PIECE_BYTES)
        data = decoder.unconsumed_tail
        if piece:
            yield piece
        if decoder.eof or (not data and len(piece) < PIECE_BYTES):
            return


def _inflate(chunks: Iterable[bytes], wbits: int, host: str) -> Iterator[bytes]:
    """Undo one gzip or deflate layer in bounded pieces, so a body that expands a
    thousandfold (a decompression bomb) never sits in memory at once. ``wbits`` 0 is HTTP
    ``deflate``: zlib-wrapped as specified, or raw as some servers send it."""
    stream = iter(chunks)
    if wbits == 0:
        head = b""
        for chunk in stream:
            head += chunk
            if len(head) >= 2:
                break
        zlib_wrapped = len(head) >= 2 and head[0] & 0x0F == 8 and (head[0] << 8 | head[1]) % 31 == 0
        wbits = zlib.MAX_WBITS if zlib_wrapped else -zlib.MAX_WBITS
        stream = itertools.chain([head], stream)
    decoder = zlib.decompressobj(wbits)
    try:
        for chunk in stream:
            data = chunk
            while data:
                if decoder.eof:
                    if wbits != _GZIP or data[0] != 0x1F:
                        return  # bytes after the end of the compressed data are ignored
                    decoder = zlib.decompressobj(wbits)  # the next member of a multi-member gzip
                yield from _pieces(decoder, data)
                data = decoder.unused_data if decoder.eof else b""
    except zlib.error as exc:
        raise DownloadError(f"The compressed answer from {host} is damaged.") from exc
    if not decoder.eof:
        raise DownloadError(f"The compressed answer from {host} is cut off before its end.")


def decoded_body(raw: Iterable[bytes], encoding: str | None, host: str) -> Iterator[bytes]:
    """The body's bytes: at most one gzip or deflate layer is undone, in bounded pieces.

    We ask for ``identity`` (or gzip/deflate); a server may still send something else. Stacked
    layers (``gzip, gzip``) and unknown codings are refused: no server we call needs them and
    they are the shape of a bomb.
    """
    codings = [c.strip().lower() for c in (encoding or "").split(",")]
    codings = [c for c in codings if c and c != "identity"]
    if not codings:
        return iter(raw)
    if len(codings) > 1:
        raise DownloadError(
            f"The server {host} sent its answer with {len(codings)} stacked content encodings, "
            "which are refused."
        )
    wbits = _CODINGS.get(codings[0])
    if wbits is None:
        name = re.sub(r"[^a-z0-9._+-]", "", codings[0])[:40] or "(unnamed)"
        raise DownloadError(
            f"The server {host} sent its answer in the unsupported content encoding {name}."
        )
    return _inflate(raw, wbits, host)


def header_value(response: httpcore.Response, name: bytes) -> str | None:
    """All values of one response header joined by commas (as HTTP defines repeated fields)."""
    values = [v.decode("latin-1") for k, v in response.headers if k.lower() == name]
    return ", ".join(values) if values else None


def failure_reason(exc: Exception) -> str:
    """A short operator-readable reason for a transport failure (no library internals)."""
    if isinstance(exc, httpcore.ConnectError):
        detail = _INTERNALS.sub("", " ".join(str(exc).split())).strip(" .")[:120]
        return f"the server could not be reached ({detail})" if detail else "no connection"
    if isinstance(exc, httpcore.RemoteProtocolError):
        text = str(exc).lower()
        if "disconnect" in text or "closed" in text:
            return "the server closed the connection before the answer was complete"
        return "the server's answer is not valid HTTP"
    if isinstance(exc, (httpcore.ReadError, httpcore.WriteError)):
        return "the connection broke off"
    return "the request could not be sent"
