"""The HNSW graph carried from version to version (index/segments.py): a one-file change reuses the
previous graph (hard link), skips removed chunks, searches new ones exactly beside it, and finds
what exact search finds; past the rebuild share a fresh graph is built."""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np
import pytest
from conftest import make_settings

from chatbot.retrieval import IndexHandle
from index import IndexStore, open_index
from index.errors import IndexCorruptError
from index.segments import ANN_ROWS, carry
from ingest.pipeline import run_ingest

QUESTIONS = [
    "How often is the tail pulley bearing greased?",
    "What does fault E-107 mean?",
    "How do I tension the conveyor belt?",
    "Wie oft muss das Filtervlies gewechselt werden?",
    "Which grease goes into the press slides?",
]


def _hnsw(settings, fraction: float):
    settings.index.ann = "hnsw"
    settings.index.ann_rebuild_fraction = fraction
    return settings


def _exact(idx, q: np.ndarray, k: int) -> list[int]:
    return [int(i) for i in np.argsort(-(np.asarray(idx.vectors) @ q))[:k]]


def _inode(store: IndexStore, version: str) -> int:
    return os.stat(store.ann_path(version)).st_ino


def test_carry_maps_the_graph_onto_the_new_rows() -> None:
    # previous version: rows 0..5, all in the graph; new version: prev rows 0, 1, 4, 5 kept (in a
    # new order), prev rows 2, 3 gone, two new rows
    origin = np.array([4, 5, -1, 0, 1, -1])
    rows, dead, delta = carry(np.arange(6), origin)
    assert rows.tolist() == [3, 4, -1, -1, 0, 1] and dead == 2 and delta == 2
    # a graph that already skips a row, carried again
    rows2, dead2, delta2 = carry(rows, np.array([0, 1, 2, 3, 5]))  # row 4 (in the graph) dropped
    assert rows2.tolist() == [3, -1, -1, -1, 0, 1] and dead2 == 3 and delta2 == 2  # new rows 2, 4: delta


def test_a_change_carries_the_graph_and_finds_what_exact_search_finds(
    manuals_copy: Path, tmp_path: Path, real_embedder
) -> None:
    settings = _hnsw(make_settings(tmp_path, "sentence-transformers"), 0.5)
    store = IndexStore(settings.index.path)
    first = run_ingest([manuals_copy], settings, embedder=real_embedder)
    v1 = store.current_version()
    assert "built" in first.ann and store.read_ann_rows(v1) is None
    replica = IndexHandle(settings.index.path, real_embedder.name, real_embedder.dim, check_seconds=0)
    graph = replica.get().index.ann

    notes = manuals_copy / "Lubrication_Notes.txt"
    notes.write_text(
        notes.read_text() + "\nGrease the tail pulley bearing every 250 hours with NLGI 2 grease.\n"
    )
    (manuals_copy / "Shift_Handover_Checklist.html").unlink()
    (manuals_copy / "CV-50_Conveyor_Manual.pdf").rename(manuals_copy / "Conveyor_CV50.pdf")
    s = run_ingest([manuals_copy], settings, embedder=real_embedder)
    v2 = store.current_version()
    assert "carried" in s.ann, s.ann
    assert _inode(store, v2) == _inode(store, v1)  # the graph file is reused, not rewritten
    rows = store.read_ann_rows(v2)
    assert rows is not None and (rows < 0).any()  # the changed and removed files' chunks are tombstones

    idx = open_index(settings.index.path)
    assert idx.carried is not None and len(idx.carried.delta) >= 1
    for question in QUESTIONS:
        q = real_embedder.embed_query(question)
        found = [r for r, _ in idx.search(q, 10)]
        assert found == _exact(idx, q, 10), question
    top = idx.chunks[idx.search(real_embedder.embed_query(QUESTIONS[0]), 1)[0][0]]
    assert "tail pulley bearing every 250 hours" in top.text  # a new chunk, from the exact delta
    assert all(c.source != "Shift_Handover_Checklist.html" for c in idx.chunks)

    # a running replica takes the new version without reading the graph file again
    assert replica.get().index.version == v2 and replica.get().index.ann is graph

    # the version before stays loadable and answers from its own rows
    old = open_index(settings.index.path, version=v1)
    q = real_embedder.embed_query(QUESTIONS[2])
    assert [r for r, _ in old.search(q, 5)] == _exact(old, q, 5)


def test_past_the_rebuild_share_a_fresh_graph_is_built(manuals_copy: Path, tmp_path: Path) -> None:
    settings = _hnsw(make_settings(tmp_path), 0.0)
    store = IndexStore(settings.index.path)
    run_ingest([manuals_copy], settings)
    v1 = store.current_version()
    (manuals_copy / "Shift_Handover_Checklist.html").unlink()
    s = run_ingest([manuals_copy], settings)
    v2 = store.current_version()
    assert "built" in s.ann and store.read_ann_rows(v2) is None
    assert _inode(store, v2) != _inode(store, v1)
    assert open_index(settings.index.path).carried is None


def test_a_damaged_row_map_is_a_clear_error_and_the_index_is_not_served_wrong(
    manuals_copy: Path, tmp_path: Path
) -> None:
    settings = _hnsw(make_settings(tmp_path), 0.9)
    store = IndexStore(settings.index.path)
    run_ingest([manuals_copy], settings)
    (manuals_copy / "Lubrication_Notes_2.txt").write_text("Oil the chain of the CV-50 weekly.\n")
    run_ingest([manuals_copy], settings)
    path = store.version_dir() / ANN_ROWS
    assert path.exists()
    np.save(path, np.arange(3))  # a map of the wrong length
    with pytest.raises(IndexCorruptError, match=re.escape(ANN_ROWS)):
        open_index(settings.index.path)
    path.write_bytes(b"not a numpy file")
    with pytest.raises(IndexCorruptError, match=re.escape(ANN_ROWS)):
        open_index(settings.index.path)
