"""HTTP hardening for the UI: security headers on every response, closed upload routes, file-name
headers that survive any name, and the client address behind a trusted proxy.

``SecurityHeaders`` is a plain ASGI middleware. It merges the framing policy into whatever
Content-Security-Policy a route set (an original file's ``sandbox; default-src 'none'`` stays),
adds ``X-Content-Type-Options: nosniff`` and ``Referrer-Policy``, and answers an unhandled error
itself, so 404 and 500 responses carry the same headers as pages do.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import re
import unicodedata
from collections.abc import Awaitable, Callable, Iterable, Mapping, MutableMapping
from typing import Any
from urllib.parse import quote

log = logging.getLogger(__name__)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

# Gradio's upload routes: the app has no upload component, so nothing may be uploaded.
_CLOSED = re.compile(r"^(?:/gradio_api)?/upload(?:_progress)?/?$")


def frame_ancestors(origins: Iterable[str]) -> str:
    return "frame-ancestors " + " ".join(list(origins) or ["'self'"])


def merge_csp(route_policy: str | None, framing: str) -> str:
    """The route's own policy with the framing directive added (a route's own frame-ancestors wins)."""
    if not route_policy:
        return framing
    if re.search(r"(^|;)\s*frame-ancestors\b", route_policy):
        return route_policy
    return f"{route_policy.rstrip('; ')}; {framing}"


class SecurityHeaders:
    def __init__(self, app: ASGIApp, framing: str) -> None:
        self.app = app
        self.framing = framing

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if _CLOSED.match(scope.get("path", "")):
            await self._plain(send, 403, {"detail": "uploads are disabled on this server"})
            return
        started = False

        async def send_with_headers(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                message["headers"] = self._headers(message.get("headers", []))
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        except Exception:
            log.exception("unhandled error", extra={"path": scope.get("path", "")})
            if started:
                raise
            await self._plain(send, 500, {"detail": "internal error; the admin can see the log"})

    def _headers(self, raw: Iterable[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
        out: list[tuple[bytes, bytes]] = []
        policy: str | None = None
        for k, v in raw:
            name = k.lower()
            if name == b"content-security-policy":
                policy = v.decode("latin-1")
            elif name not in (b"x-content-type-options", b"referrer-policy"):
                out.append((k, v))
        out.append((b"content-security-policy", merge_csp(policy, self.framing).encode("latin-1")))
        out.append((b"x-content-type-options", b"nosniff"))
        out.append((b"referrer-policy", b"same-origin"))
        return out

    async def _plain(self, send: Send, status: int, body: Mapping[str, str]) -> None:
        data = json.dumps(body).encode()
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": self._headers(
                    [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode())]
                ),
            }
        )
        await send({"type": "http.response.body", "body": data})


def content_disposition(name: str, inline: bool = True) -> str:
    """RFC 6266 header for any file name: an ASCII fallback plus ``filename*=UTF-8''...``.

    Control characters (a newline in a name would split the header) are dropped; quotes and
    backslashes never reach the quoted fallback.
    """
    clean = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C") or "document"
    fallback = unicodedata.normalize("NFKD", clean).encode("ascii", "ignore").decode()
    fallback = re.sub(r'["\\;]', "_", fallback).strip() or "document"
    kind = "inline" if inline else "attachment"
    return f"{kind}; filename=\"{fallback}\"; filename*=UTF-8''{quote(clean, safe='')}"


def _networks(entries: Iterable[str]) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    return [ipaddress.ip_network(e, strict=False) for e in entries]


class ClientAddress:
    """The operator's address for rate limiting: the peer, or, when the peer is a configured trusted
    proxy, the last address in X-Forwarded-For that is not itself a trusted proxy."""

    def __init__(self, trusted_proxies: Iterable[str]) -> None:
        self.trusted = _networks(trusted_proxies)

    def is_trusted(self, addr: str) -> bool:
        try:
            ip = ipaddress.ip_address(addr.strip())
        except ValueError:
            return False
        return any(ip in net for net in self.trusted)

    def __call__(self, peer: str | None, headers: Mapping[str, str]) -> str:
        peer = peer or "unknown"
        if not self.trusted or not self.is_trusted(peer):
            return peer
        forwarded = headers.get("x-forwarded-for", "")
        hops = [h.strip() for h in forwarded.split(",") if h.strip()]
        for hop in reversed(hops):
            if not self.is_trusted(hop):
                try:
                    return str(ipaddress.ip_address(hop))
                except ValueError:
                    return peer  # a forged, malformed header: count it against the proxy itself
        return peer
