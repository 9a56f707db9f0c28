"""The upload limit, enforced while the body streams in, and the bearer token."""

from __future__ import annotations

import hmac
import json


class BodyTooLarge(Exception):
    """The request body passed the upload limit."""


def too_large_message(limit: int) -> str:
    return (f"the upload is larger than the server's limit of {limit} bytes "
            f"({limit / 1e6:g} MB; tympan serve --max-upload-mb)")


class UploadLimit:
    """ASGI middleware: a request whose Content-Length passes ``limit`` is answered 413 before
    one byte of its body is read; a body without a length (chunked) is counted as it arrives,
    and the read that passes the limit raises :class:`BodyTooLarge`, which becomes 413 unless
    the answer has started."""

    def __init__(self, app, limit: int):
        self.app = app
        self.limit = limit

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        for key, value in scope.get("headers", ()):
            if key == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    return await _answer(send, 400, "Content-Length is not a number")
                if declared > self.limit:
                    return await _answer(send, 413, too_large_message(self.limit))
        seen = 0
        started = False

        async def counted():
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    raise BodyTooLarge(too_large_message(self.limit))
            return message

        async def watched(message):
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counted, watched)
        except BodyTooLarge as exc:
            if not started:
                await _answer(send, 413, str(exc))


async def _answer(send, status: int, detail: str) -> None:
    body = json.dumps({"detail": detail}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode()),
                            (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})


def token_ok(expected: str | None, authorization: str | None, query_token: str | None = None) -> bool:
    """Whether a request may pass: no key configured, or ``Authorization: Bearer <key>`` (or,
    for WebSockets, which browsers open without headers, ``?token=<key>``) equal to it,
    compared in constant time."""
    if expected is None:
        return True
    given = ""
    if authorization and authorization[:7].lower() == "bearer ":
        given = authorization[7:].strip()
    elif query_token:
        given = query_token
    return hmac.compare_digest(given.encode(), expected.encode())
