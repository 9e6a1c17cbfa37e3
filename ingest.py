"""Entry point: ``python ingest.py manuals/ [more folders] [--index PATH]``. The work lives in ingest/."""

from ingest.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
