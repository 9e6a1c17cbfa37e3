"""An HTTP proxy in front of a real OpenAI-compatible server that injects faults we cannot
cause otherwise with a healthy server: a slow server, a broken stream, bogus model output.

    python tests/fault_proxy.py UPSTREAM_BASE PORT

The fault is chosen by the first path segment of the request:
    /ok/v1/...        forwarded unchanged
    /slow/v1/...      waits 30 s before forwarding (the client's read timeout fires first)
    /broken/v1/...    200 with a stream of invalid JSON events
    /bogus/v1/...     a well-formed stream whose content cites a source that was never given and
                      states a number that is in no source
    /refuse/v1/...    a well-formed stream that says the sources do not cover the question
"""

from __future__ import annotations

import json
import sys
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

UPSTREAM = sys.argv[1].rstrip("/") if len(sys.argv) > 1 else "http://127.0.0.1:8000/v1"


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: object) -> None:  # quiet
        pass

    def _route(self) -> tuple[str, str]:
        parts = self.path.split("/", 2)
        mode = parts[1] if len(parts) > 1 else "ok"
        rest = "/" + (parts[2] if len(parts) > 2 else "")
        return mode, rest[len("/v1") :] if rest.startswith("/v1") else rest

    def _forward(self, rest: str, body: bytes | None) -> None:
        req = urllib.request.Request(UPSTREAM + rest, data=body, method=self.command)
        for h in ("Content-Type", "Authorization", "Accept"):
            if self.headers.get(h):
                req.add_header(h, self.headers[h])
        with urllib.request.urlopen(req, timeout=120) as resp:
            self.send_response(resp.status)
            self.send_header("Content-Type", resp.headers.get("Content-Type", "application/json"))
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            while True:
                block = resp.read1(4096) if hasattr(resp, "read1") else resp.read(4096)
                if not block:
                    break
                self.wfile.write(f"{len(block):x}\r\n".encode() + block + b"\r\n")
                self.wfile.flush()
            self.wfile.write(b"0\r\n\r\n")

    def _sse(self, events: list[bytes]) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        for ev in events:
            self.wfile.write(f"{len(ev):x}\r\n".encode() + ev + b"\r\n")
            self.wfile.flush()
        self.wfile.write(b"0\r\n\r\n")

    def _stream_text(self, pieces: list[str]) -> None:
        """A well-formed OpenAI chat.completion.chunk stream carrying ``pieces``."""
        events = []
        for i, piece in enumerate(pieces):
            chunk = {
                "id": "x",
                "object": "chat.completion.chunk",
                "created": 0,
                "model": "fault-proxy",
                "choices": [
                    {
                        "index": 0,
                        "delta": {"content": piece},
                        "finish_reason": "stop" if i == len(pieces) - 1 else None,
                    }
                ],
            }
            events.append(b"data: " + json.dumps(chunk).encode() + b"\n\n")
        events.append(b"data: [DONE]\n\n")
        self._sse(events)

    def do_GET(self) -> None:
        mode, rest = self._route()
        if mode == "slow":
            time.sleep(30)
        self._forward(rest, None)

    def do_POST(self) -> None:
        mode, rest = self._route()
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if mode == "slow":
            time.sleep(30)
            self._forward(rest, body)
        elif mode == "broken":
            self._sse([b"data: {this is not json\n\n", b"data: [DONE]\n\n"])
        elif mode == "bogus":
            self._stream_text(
                [
                    "The light curtain must be bypassed for setup [9]. ",
                    "Set the relief valve to 45 MPa [1]. ",
                    "E-107 means the main pump motor overloaded [1].",
                ]
            )
        elif mode == "refuse":
            self._stream_text(["The manuals I have ", "do not cover this."])
        else:
            self._forward(rest, body)


if __name__ == "__main__":
    port = int(sys.argv[2]) if len(sys.argv) > 2 else 0
    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    print(server.server_address[1], flush=True)
    server.serve_forever()
