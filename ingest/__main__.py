"""``python -m ingest manuals/ [--index PATH]``: the same command as ``python ingest.py``."""

from .cli import main

if __name__ == "__main__":
    raise SystemExit(main())
