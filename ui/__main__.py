"""``python -m ui [--index PATH] [--host HOST] [--port PORT]``: the operator chat UI."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from chatbot.wiring import build_app
from core.errors import UserError
from core.logs import setup_logging
from core.settings import load_settings

log = logging.getLogger("ui")


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m ui", description=__doc__)
    p.add_argument("--index", help="index folder (default: setting index.path)")
    p.add_argument("--host", help="interface to listen on (default: setting ui.host, 127.0.0.1)")
    p.add_argument("--port", type=int, help="port (default: setting ui.port, 7860)")
    p.add_argument("--config", help="TOML settings file")
    args = p.parse_args(argv)
    ui_over = {k: v for k, v in (("host", args.host), ("port", args.port)) if v is not None}
    try:
        settings = load_settings(
            args.config, index={"path": args.index} if args.index else None, ui=ui_over or None
        )
        setup_logging(settings.log_level, settings.log_format)
        import uvicorn

        from .app import build_ui

        with build_app(settings) as deps:
            app = build_ui(deps)
            print(
                f"Operator assistant: http://{settings.ui.host}:{settings.ui.port}/  (HMI: add ?embed=1)",
                flush=True,
            )
            uvicorn.run(app, host=settings.ui.host, port=settings.ui.port, log_level="warning")
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
