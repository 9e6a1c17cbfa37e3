"""A run killed and run again, with the real models (issue 28, item 8): the cross-lingual side vectors
are resumed like the main ones, and the stage seconds of the summary add up to the run's wall time."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import MANUALS, REPO, run_cli

from core.settings import Settings
from index import IndexStore, open_index
from index.multilingual import cache_file, side_model_name

pytestmark = pytest.mark.slow

# the real models, the cross-lingual side on (the default); one thread: the kills land mid-phase
# and the test leaves the second core alone
ENV = {"OPASSIST_RETRIEVAL__MULTILINGUAL": "true", "OPASSIST_EMBEDDING__THREADS": "1"}
SIDE = side_model_name(Settings())


def _ingest(docs: Path, index: Path, **env: str) -> dict[str, Any]:
    r = run_cli(str(docs), "--index", str(index), "--json", env=ENV | env)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def _kill_when(docs: Path, index: Path, ready: Callable[[], bool]) -> None:
    """Start an ingest and SIGKILL it as soon as ``ready()``; it must still be running then."""
    proc = subprocess.Popen(
        [sys.executable, str(REPO / "ingest.py"), str(docs), "--index", str(index)],
        cwd=REPO,
        env={**os.environ, **ENV},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 300
        while proc.poll() is None and time.monotonic() < deadline and not ready():
            time.sleep(0.005)
        assert proc.poll() is None, "the run ended before the moment to kill it"
        proc.send_signal(signal.SIGKILL)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
    assert proc.returncode == -signal.SIGKILL


def _staged_side_files(index: Path) -> list[Path]:
    return sorted((index / "staging" / "multilingual").glob("*/*.npz"))


def _side_cache(index: Path) -> dict[bytes, tuple[np.ndarray, str]]:
    with np.load(cache_file(index, SIDE)) as z:
        vectors, langs = np.asarray(z["vectors"]), [str(x) for x in z["langs"]]
        return {k.tobytes(): (vectors[i], langs[i]) for i, k in enumerate(z["keys"])}


def _assert_stages_add_up(summary: dict[str, Any]) -> None:
    """The stages account for the run's wall time: none is counted twice, little is left over."""
    seconds = dict(summary["seconds"])
    total = seconds.pop("total")
    stages = sum(seconds.values())
    assert stages <= total + 0.02, seconds | {"total": total}
    assert stages >= 0.9 * total or total - stages < 0.5, seconds | {"total": total}


@pytest.fixture(scope="module")
def docs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    dst = tmp_path_factory.mktemp("resume") / "manuals"
    shutil.copytree(MANUALS, dst)
    return dst


@pytest.fixture(scope="module")
def clean(docs: Path) -> tuple[Path, dict[str, Any]]:
    """One uninterrupted run: the index every resumed run must end up equal to. Its model cache is
    empty, as on a new machine: loading the model includes its one-time int8 export (seconds)."""
    index = docs.parent / "clean-idx"
    return index, _ingest(docs, index, OPASSIST_EMBEDDING__CACHE_DIR=str(docs.parent / "model-cache"))


def test_stage_seconds_add_up_to_the_run_fresh_and_resumed(
    docs: Path, clean: tuple[Path, dict[str, Any]], tmp_path: Path
) -> None:
    """Every phase of a run is timed (the models loaded, the live version and staging read, the
    side vectors, the write), so the summary's stages add up to its total, fresh or resumed."""
    _, fresh = clean
    phases = {"scan", "previous", "hash", "plan", "model", "extract", "chunk", "embed", "staging"}
    assert phases | {"multilingual", "write", "ann", "total"} <= set(fresh["seconds"])
    _assert_stages_add_up(fresh)

    index = tmp_path / "idx"
    _kill_when(docs, index, lambda: len(list((index / "staging").glob("*.npz"))) >= 1)
    resumed = _ingest(docs, index)
    assert resumed["committed"] and resumed["chunks_reused"] > 0  # the staged files were read back
    assert phases <= set(resumed["seconds"])
    _assert_stages_add_up(resumed)


def test_side_vectors_resume_after_kill_9_in_the_multilingual_phase(
    docs: Path, clean: tuple[Path, dict[str, Any]], tmp_path: Path
) -> None:
    """A run killed while it computes the cross-lingual side vectors leaves the batches it finished
    in staging; the next run computes only the rest, and ends with the vectors of a clean run."""
    clean_index, clean_summary = clean
    total = clean_summary["chunks_total"]
    assert clean_summary["multilingual_embedded"] == total > 40

    index = tmp_path / "idx"
    _kill_when(docs, index, lambda: len(_staged_side_files(index)) >= 1)
    staged = set()
    for f in _staged_side_files(index):
        with np.load(f) as z:
            staged |= {k.tobytes() for k in z["keys"]}
    assert staged and IndexStore(index).current_version() is None  # killed before the first commit

    s = _ingest(docs, index)
    assert s["committed"] and s["chunks_total"] == total
    assert s["chunks_embedded"] == 0  # every file's main vectors were staged before the side pass
    # only what the killed run had not computed: each staged vector serves at least one chunk
    assert s["multilingual_embedded"] <= total - len(staged) < total
    assert not (index / "staging").exists()
    _assert_stages_add_up(s)

    got, want = _side_cache(index), _side_cache(clean_index)
    keys = sorted(want)
    assert sorted(got) == keys
    assert [got[k][1] for k in keys] == [want[k][1] for k in keys]  # the languages
    assert np.allclose(np.stack([got[k][0] for k in keys]), np.stack([want[k][0] for k in keys]))
    assert len(open_index(index).chunks) == total
