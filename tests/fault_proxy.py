"""An HTTP proxy in front of a real OpenAI-compatible server that injects faults we cannot
cause otherwise with a healthy server: a slow server, a broken stream, bogus model output.

    python tests/fault_proxy.py UPSTREAM_BASE PORT

The fault is chosen by the first path segment of the request:
    /ok/v1/...        forwarded unchanged
    /slow/v1/...      waits 30 s before forwarding (the client's read timeout fires first)
    /broken/v1/...    200 with a stream of invalid JSON events
    /pings/v1/...     200 with an SSE stream that sends only keep-alive comments (": ping"), once
                      a second, for 60 s: a server busy elsewhere or stuck, as llama-cpp-python's
                      looks (its pings reset any plain read timeout)
    /trickle/v1/...   a well-formed stream that never ends: one token every 0.5 s for 120 s

Chosen model text (a model that gives up, cites a source it was not given, invents a value ...)
comes from the scripted double ``chatbot.scripted_llm.FunctionLLM`` in test_answer_logic.py.
"""

from __future__ import annotations

import json
import sys
import time
import urllib.request
from collections.abc import Iterable
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

    def _sse(self, events: Iterable[bytes]) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        for ev in events:
            try:
                self.wfile.write(f"{len(ev):x}\r\n".encode() + ev + b"\r\n")
                self.wfile.flush()
            except (BrokenPipeError, ConnectionResetError):
                return  # the client gave up: that is what the faults are for
            if ev.startswith(b":") or b"word" in ev:
                time.sleep(1.0 if ev.startswith(b":") else 0.5)
        self.wfile.write(b"0\r\n\r\n")

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
        elif mode == "pings":
            self._sse(b": ping\r\n\r\n" for _ in range(60))
        elif mode == "trickle":
            self._sse(_chunk(f"word{i} ") for i in range(240))
        else:
            self._forward(rest, body)


def _chunk(text: str) -> bytes:
    body = {
        "id": "x",
        "object": "chat.completion.chunk",
        "created": 0,
        "model": "fault-proxy",
        "choices": [{"index": 0, "delta": {"content": text}, "finish_reason": None}],
    }
    return b"data: " + json.dumps(body).encode() + b"\n\n"


if __name__ == "__main__":
    port = int(sys.argv[2]) if len(sys.argv) > 2 else 0
    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    print(server.server_address[1], flush=True)
    server.serve_forever()
