"""uvicorn's HTTP/1.1 protocol with a deadline for a request's headers (uvicorn has none).

Without it a connection that never sends a request, or sends its headers a byte at a time
(slowloris), stays open for as long as the caller likes: uvicorn's keep-alive timer runs only
between two requests, and any byte cancels it. Here every request's line and headers must be
complete within `header_timeout_s` of their first byte (of the connection's opening for the first
request); otherwise the server answers 408 and closes the connection. Together with the body
deadline (`guards.BodyTimeoutMiddleware`) and uvicorn's connection ceiling (`limit_concurrency`),
no caller holds a connection longer than a bounded time without completing a request.

`netralitas serve` passes it to uvicorn as `http=functools.partial(HeaderTimeoutProtocol,
header_timeout_s=...)`: picklable, so the spawned worker processes of `--workers N` get it too.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.h11_impl import H11Protocol

__all__ = ["HeaderTimeoutProtocol"]

_BODY = b"request headers not received in time; send the whole request line and headers at once\n"
_TIMEOUT_RESPONSE = (
    b"HTTP/1.1 408 Request Timeout\r\ncontent-type: text/plain; charset=utf-8\r\n"
    b"connection: close\r\ncontent-length: " + str(len(_BODY)).encode() + b"\r\n\r\n" + _BODY
)


class HeaderTimeoutProtocol(H11Protocol):
    """H11Protocol that closes connections whose request headers take over `header_timeout_s`."""

    def __init__(self, *args: Any, header_timeout_s: float = 10.0, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.header_timeout_s = header_timeout_s
        self._header_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def data_received(self, data: bytes) -> None:
        waiting = self.cycle is None or self.cycle.response_complete
        if waiting and self._header_timer is None:  # the first byte of a next request
            self._arm()
        cycle = self.cycle
        super().data_received(data)
        if self.cycle is not cycle:  # h11 parsed a whole request line and headers
            self._disarm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _arm(self) -> None:
        self._header_timer = self.loop.call_later(self.header_timeout_s, self._too_slow)

    def _disarm(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _too_slow(self) -> None:
        self._header_timer = None
        if not self.transport.is_closing():
            self.transport.write(_TIMEOUT_RESPONSE)
            self.transport.close()
