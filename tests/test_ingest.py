"""The ingest command end to end: incremental runs, crash safety, locking, bad input."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import HASH_ENV, MANUALS, REPO, SAMPLE_DOCS, make_settings, run_cli

from core.errors import UserError
from index import IndexStore, open_index
from index.errors import IndexLockedError, IndexMismatchError
from ingest.pipeline import run_ingest

SAMPLES = len(SAMPLE_DOCS)  # the sample manuals shipped in manuals/


def _sources(index_path: Path) -> list[str]:
    return sorted(d.source for d in IndexStore(index_path).read_documents())


# ------------------------------------------------------------------ the real model, end to end
def test_cli_ingests_samples_with_real_model_and_finds_a_fault_code(tmp_path: Path, real_embedder) -> None:
    index = tmp_path / "idx"
    r = run_cli(str(MANUALS), "--index", str(index), "--json")
    assert r.returncode == 0, r.stderr
    summary = json.loads(r.stdout)
    assert len(summary["added"]) == SAMPLES and summary["committed"]
    assert summary["chunks_embedded"] == summary["chunks_total"] > 40
    loaded = open_index(index, expected_model=real_embedder.name, expected_dim=real_embedder.dim)
    assert loaded.meta.embedding_model == "sentence-transformers/all-MiniLM-L6-v2"
    assert loaded.meta.dim == 384 and loaded.meta.normalized
    norms = np.linalg.norm(loaded.vectors, axis=1)
    assert np.allclose(norms, 1.0, atol=1e-3)
    hits = loaded.search(real_embedder.embed_query("main pump motor overload fault on the press"), 3)
    top = loaded.chunks[hits[0][0]]
    assert top.source == "HP-200_Hydraulic_Press_Manual.pdf" and top.page_start == 7
    assert "E-107" in top.text

    # second run: nothing to do, and fast (no model load)
    t0 = time.perf_counter()
    r2 = run_cli(str(MANUALS), "--index", str(index), "--json")
    assert r2.returncode == 0
    s2 = json.loads(r2.stdout)
    assert s2["unchanged"] == SAMPLES and s2["chunks_embedded"] == 0 and not s2["committed"]
    assert time.perf_counter() - t0 < 20  # includes interpreter start; the bench measures the real figure


def test_incremental_change_delete_rename_with_real_model(
    manuals_copy: Path, real_settings, real_embedder
) -> None:
    first = run_ingest([manuals_copy], real_settings, embedder=real_embedder)
    total = first.chunks_total
    v1 = IndexStore(real_settings.index.path).current_version()

    # change one file: only it is processed; unchanged text keeps its vectors
    notes = manuals_copy / "Lubrication_Notes.txt"
    notes.write_text(
        notes.read_text() + "\nGrease the tail pulley bearing every 250 hours with NLGI 2 grease.\n"
    )
    s = run_ingest([manuals_copy], real_settings, embedder=real_embedder)
    assert s.changed == [os.path.join(str(manuals_copy), "Lubrication_Notes.txt")]
    assert s.unchanged == SAMPLES - 1 and 1 <= s.chunks_embedded <= 3
    idx = open_index(real_settings.index.path)
    assert any("tail pulley bearing every 250 hours" in c.text for c in idx.chunks)
    assert idx.version != v1

    # rename: nothing is embedded again
    (manuals_copy / "CV-50_Conveyor_Manual.pdf").rename(manuals_copy / "Conveyor_CV50.pdf")
    s = run_ingest([manuals_copy], real_settings, embedder=real_embedder)
    assert s.chunks_embedded == 0 and len(s.renamed) == 1 and not s.removed
    assert "Conveyor_CV50.pdf" in _sources(real_settings.index.path)
    assert "CV-50_Conveyor_Manual.pdf" not in _sources(real_settings.index.path)
    idx = open_index(real_settings.index.path)
    assert all(c.source != "CV-50_Conveyor_Manual.pdf" for c in idx.chunks)

    # delete: its chunks go
    (manuals_copy / "Shift_Handover_Checklist.html").unlink()
    s = run_ingest([manuals_copy], real_settings, embedder=real_embedder)
    idx = open_index(real_settings.index.path)
    assert len(s.removed) == 1
    assert all(c.source != "Shift_Handover_Checklist.html" for c in idx.chunks)
    assert len(idx.chunks) < total + 3
    assert len(idx.vectors) == len(idx.chunks)


# ------------------------------------------------------------------ storage behaviour (fast embedder)
def test_rerun_embeds_nothing_and_writes_no_version(manuals_copy: Path, fast_settings) -> None:
    run_ingest([manuals_copy], fast_settings)
    store = IndexStore(fast_settings.index.path)
    v = store.current_version()
    s = run_ingest([manuals_copy], fast_settings)
    assert s.chunks_embedded == 0 and not s.committed and store.current_version() == v


def test_copy_under_second_name_is_not_embedded_twice(manuals_copy: Path, fast_settings) -> None:
    shutil.copy(manuals_copy / "HP-200_Hydraulic_Press_Manual.pdf", manuals_copy / "press_copy.pdf")
    s = run_ingest([manuals_copy], fast_settings)
    hp = [c for c in open_index(fast_settings.index.path).chunks if c.source == "press_copy.pdf"]
    assert hp and s.chunks_reused >= len(hp)


def test_two_folders_keep_their_own_documents(tmp_path: Path, manuals_copy: Path, fast_settings) -> None:
    other = tmp_path / "other"
    other.mkdir()
    (other / "extra.md").write_text("# Extra\n\nThe spare fuse for the CV-50 control box is 2 A slow-blow.\n")
    run_ingest([manuals_copy], fast_settings)
    run_ingest([other], fast_settings)  # a run over another folder does not delete the first one's files
    assert "extra.md" in _sources(fast_settings.index.path)
    assert "HP-200_Hydraulic_Press_Manual.pdf" in _sources(fast_settings.index.path)


def test_mass_deletion_is_refused_then_allowed(manuals_copy: Path, fast_settings) -> None:
    run_ingest([manuals_copy], fast_settings)
    v = IndexStore(fast_settings.index.path).current_version()
    for p in manuals_copy.iterdir():
        p.unlink()
    with pytest.raises(UserError, match="are gone"):
        run_ingest([manuals_copy], fast_settings)
    assert IndexStore(fast_settings.index.path).current_version() == v
    s = run_ingest([manuals_copy], fast_settings, allow_delete=True)
    assert len(s.removed) == SAMPLES and open_index(fast_settings.index.path).chunks == []


def test_model_mismatch_is_a_clear_error(manuals_copy: Path, tmp_path: Path) -> None:
    s384 = make_settings(tmp_path, "hash")
    run_ingest([manuals_copy], s384)
    s128 = s384.model_copy(update={"embedding": s384.embedding.model_copy(update={"model": "hash-128"})})
    with pytest.raises(IndexMismatchError, match="hash-384"):
        open_index(s384.index.path, expected_model="hash-128")
    with pytest.raises(IndexMismatchError, match="--rebuild"):
        run_ingest([manuals_copy], s128)
    s = run_ingest([manuals_copy], s128, rebuild=True)
    assert s.committed and open_index(s384.index.path).meta.dim == 128


def test_changed_chunker_settings_rechunk_and_reuse_vectors(manuals_copy: Path, tmp_path: Path) -> None:
    s1 = make_settings(tmp_path, "hash")
    run_ingest([manuals_copy], s1)
    s2 = make_settings(tmp_path, "hash", chunk_tokens=400)
    s = run_ingest([manuals_copy], s2)
    assert s.committed and len(s.changed) == SAMPLES
    assert open_index(s2.index.path).meta.chunker.endswith("tok=400/ov=40/strip=1")


def test_failed_write_keeps_previous_version(manuals_copy: Path, fast_settings, monkeypatch) -> None:
    """A crash between writing the new version and swapping it in (a fault we cannot time with a kill)."""
    run_ingest([manuals_copy], fast_settings)
    store = IndexStore(fast_settings.index.path)
    v1 = store.current_version()
    (manuals_copy / "new.txt").write_text("The CV-50 belt must be replaced when the cover is worn through.")
    real_replace = os.replace

    def crash(src, dst):
        if str(dst).endswith("CURRENT"):
            raise OSError("simulated power loss")
        return real_replace(src, dst)

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="power loss"):
        run_ingest([manuals_copy], fast_settings)
    monkeypatch.setattr(os, "replace", real_replace)
    assert store.current_version() == v1
    assert "new.txt" not in [c.source for c in open_index(fast_settings.index.path).chunks]
    s = run_ingest([manuals_copy], fast_settings)
    assert s.committed and "new.txt" in _sources(fast_settings.index.path)
    assert s.chunks_embedded == 0  # its work was staged before the crash


# ------------------------------------------------------------------ processes: kill, lock
def _make_pdfs(folder: Path, n: int, pages: int = 4) -> None:
    from reportlab.pdfgen import canvas

    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        c = canvas.Canvas(str(folder / f"unit_{i:02d}.pdf"), invariant=1)
        for p in range(pages):
            y = 800
            for line in range(40):
                c.drawString(
                    40,
                    y,
                    f"Unit {i} page {p + 1} line {line}: check valve V{i}{line} torque {i * 7 + line} Nm.",
                )
                y -= 18
            c.showPage()
        c.save()


def test_kill_mid_ingest_then_resume(tmp_path: Path) -> None:
    """SIGKILL at several moments: the previous index always loads; the next run finishes the work."""
    docs = tmp_path / "docs"
    shutil.copytree(MANUALS, docs)
    index = tmp_path / "idx"
    assert run_cli(str(docs), "--index", str(index), env=HASH_ENV).returncode == 0
    v1 = IndexStore(index).current_version()
    _make_pdfs(docs / "units", 60)
    env = {**os.environ, **HASH_ENV}
    staging = index / "staging"
    killed_mid_run = 0
    # kill during start-up, then after 1, 10 and 25 files have been staged
    for staged_target in (0, 1, 10, 25):
        proc = subprocess.Popen(
            [sys.executable, str(REPO / "ingest.py"), str(docs), "--index", str(index)],
            cwd=REPO,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 60
        while proc.poll() is None and time.monotonic() < deadline:
            if len(list(staging.glob("*.npz"))) >= staged_target:
                break
            time.sleep(0.005)
        if staged_target == 0:
            time.sleep(0.2)
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            killed_mid_run += 1
        proc.wait()
        loaded = open_index(index)  # always a complete, consistent version
        assert len(loaded.chunks) == len(loaded.vectors)
        assert loaded.version == v1 or loaded.meta.document_count == SAMPLES + 60
    assert killed_mid_run >= 3
    assert IndexStore(index).current_version() == v1
    r = run_cli(str(docs), "--index", str(index), "--json", env=HASH_ENV)
    assert r.returncode == 0, r.stderr
    s = json.loads(r.stdout)
    assert open_index(index).meta.document_count == SAMPLES + 60
    assert not staging.exists()
    assert s["chunks_reused"] > 0  # files staged before the kills were not embedded again
    assert s["chunks_embedded"] < s["chunks_total"]


def test_second_ingest_refuses_or_waits(manuals_copy: Path, tmp_path: Path) -> None:
    index = tmp_path / "idx"
    store = IndexStore(index)
    with store.writer_lock():
        r = run_cli(str(manuals_copy), "--index", str(index), env=HASH_ENV)
        assert r.returncode == 2
        assert "is being written by pid" in r.stderr and "--wait" in r.stderr
        with pytest.raises(IndexLockedError), store.writer_lock():
            pass
    # with --wait, a second ingest waits for the first to release the lock
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys,time; sys.path.insert(0, sys.argv[1]);"
            "from index.store import IndexStore; l = IndexStore(sys.argv[2]).writer_lock(); l.__enter__();"
            "print('locked', flush=True); time.sleep(2)",
            str(REPO),
            str(index),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
    r = run_cli(str(manuals_copy), "--index", str(index), "--wait", "30", env=HASH_ENV)
    holder.wait()
    assert r.returncode == 0, r.stderr


# ------------------------------------------------------------------ bad input
def test_bad_files_are_named_rest_is_ingested_nothing_lost(manuals_copy: Path, tmp_path: Path) -> None:
    import pypdf

    index = tmp_path / "idx"
    assert run_cli(str(manuals_copy), "--index", str(index), env=HASH_ENV).returncode == 0
    before = {c.chunk_id for c in open_index(index).chunks}

    good = (manuals_copy / "HP-200_Hydraulic_Press_Manual.pdf").read_bytes()
    (manuals_copy / "zero.pdf").write_bytes(b"")
    (manuals_copy / "notes.pdf").write_text("Shift notes: CV-50 ran fine.\n")
    (manuals_copy / "cut_off.pdf").write_bytes(good[:4000])
    w = pypdf.PdfWriter(clone_from=str(manuals_copy / "CV-50_Conveyor_Manual.pdf"))
    w.encrypt(user_password="pw", owner_password="owner")
    with open(manuals_copy / "locked.pdf", "wb") as fh:
        w.write(fh)
    (manuals_copy / "new_ok.md").write_text("# Note\n\nThe CV-50 drive chain is lubricated weekly.\n")
    # an indexed manual replaced by a broken copy keeps its previous version
    (manuals_copy / "CV-50_Conveyor_Manual.pdf").write_bytes(b"%PDF-1.4\n broken")

    r = run_cli(str(manuals_copy), "--index", str(index), "--json", env=HASH_ENV)
    assert r.returncode == 1
    lines = [ln for ln in r.stderr.splitlines() if ln.startswith("FAILED")]
    text = "\n".join(lines)
    assert "zero.pdf: empty file (0 bytes)" in text
    assert "notes.pdf: not a PDF" in text and "text file named .pdf" in text
    assert "cut_off.pdf: damaged or truncated PDF" in text
    assert "locked.pdf: encrypted" in text
    assert "CV-50_Conveyor_Manual.pdf: " in text and "previous version of this file stays" in text
    assert len(lines) == 5
    s = json.loads(r.stdout)
    assert s["added"] == [os.path.join(str(manuals_copy), "new_ok.md")]
    after = open_index(index)
    ids = {c.chunk_id for c in after.chunks}
    assert before <= ids  # nothing already indexed was lost
    assert any("drive chain is lubricated weekly" in c.text for c in after.chunks)


def test_missing_folder_and_file_argument(tmp_path: Path) -> None:
    r = run_cli(str(tmp_path / "nope"), "--index", str(tmp_path / "i"), env=HASH_ENV)
    assert r.returncode == 2 and "no such folder" in r.stderr
    f = tmp_path / "file.pdf"
    f.write_bytes(b"%PDF-1.4")
    r = run_cli(str(f), "--index", str(tmp_path / "i"), env=HASH_ENV)
    assert r.returncode == 2 and "not a folder" in r.stderr
    empty = tmp_path / "empty"
    empty.mkdir()
    r = run_cli(str(empty), "--index", str(tmp_path / "i"), env=HASH_ENV)
    assert r.returncode == 2 and "no manuals found" in r.stderr


def _ingest_as_unprivileged(base: Path, *args: str) -> subprocess.CompletedProcess:
    """The ingest CLI as a user a chmod 000 folder really stops: 'nobody' when the tests run as
    root (root reads everything), else the current user."""
    cmd = [sys.executable, str(REPO / "ingest.py"), *args]
    if os.geteuid() == 0:
        if not shutil.which("setpriv"):
            pytest.skip("running as root without setpriv: cannot drop privileges")
        cmd = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", *cmd]
    cache = os.environ.get("XDG_CACHE_HOME", str(Path.home() / ".cache"))
    r = subprocess.run(
        cmd,
        cwd=base,
        env={**os.environ, **HASH_ENV, "HOME": str(base), "XDG_CACHE_HOME": cache},
        capture_output=True,
        text=True,
        timeout=300,
    )
    if "Permission denied" in r.stderr and "python" in r.stderr.lower() and r.returncode not in (0, 1):
        pytest.skip(f"nobody cannot run this interpreter: {r.stderr[-200:]}")
    return r


def test_unreadable_folder_keeps_its_documents_until_it_is_readable_again() -> None:
    """An unreadable subfolder is like an unmounted share: what was indexed from it stays (marked
    stale); only a readable folder without the file removes it."""
    import tempfile

    base = Path(tempfile.mkdtemp(prefix="opassist-perm-", dir="/tmp"))
    docs = base / "docs"
    shutil.copytree(MANUALS, docs)
    secret = docs / "secret"
    secret.mkdir()
    (secret / "hidden.md").write_text("# Hidden\n\nThe hidden press HP-9 needs 40 bar.\n")
    (secret / "other.md").write_text("# Other\n\nThe other press HP-8 needs 30 bar.\n")
    for p in [base, *base.rglob("*")]:
        p.chmod(0o777 if p.is_dir() else 0o666)
    index = base / "idx"
    try:
        r = _ingest_as_unprivileged(base, str(docs), "--index", str(index))
        assert r.returncode == 0, r.stderr
        assert len(open_index(index).documents) == SAMPLES + 2
        version = IndexStore(index).current_version()

        secret.chmod(0o000)
        r = _ingest_as_unprivileged(base, str(docs), "--index", str(index), "--json")
        secret.chmod(0o777)
        assert r.returncode == 1, r.stderr
        assert "secret: cannot list folder (permission denied)" in r.stderr
        s = json.loads(r.stdout)
        assert s["removed"] == []
        assert sorted(os.path.basename(x) for x in s["stale"]) == ["hidden.md", "other.md"]
        idx = open_index(index)
        docs_now = {d.source: d for d in idx.documents}
        assert len(docs_now) == SAMPLES + 2  # nothing lost
        assert "permission denied" in docs_now["secret/hidden.md"].stale
        assert any("HP-9 needs 40 bar" in c.text for c in idx.chunks)
        assert IndexStore(index).current_version() != version  # the stale mark was written
        r = _ingest_as_unprivileged(base, str(docs), "--index", str(index))  # readable again
        assert r.returncode == 0, r.stderr
        assert not any(d.stale for d in open_index(index).documents)
        (secret / "other.md").unlink()  # readable and gone: now it is removed
        r = _ingest_as_unprivileged(base, str(docs), "--index", str(index), "--json")
        assert r.returncode == 0, r.stderr
        assert [os.path.basename(x) for x in json.loads(r.stdout)["removed"]] == ["other.md"]
        assert len(open_index(index).documents) == SAMPLES + 1
    finally:
        secret.chmod(0o755)
        shutil.rmtree(base, ignore_errors=True)


def test_unreadable_folder_failure_says_whether_its_documents_are_kept() -> None:
    """The --json failure of a folder that cannot be listed says kept_previous: true when documents
    indexed from it stay in the index (stale), false when nothing was indexed from it (issue 28)."""
    import tempfile

    base = Path(tempfile.mkdtemp(prefix="opassist-perm-", dir="/tmp"))
    docs = base / "docs"
    shutil.copytree(MANUALS, docs)
    secret = docs / "secret"
    secret.mkdir()
    (secret / "hidden.md").write_text("# Hidden\n\nThe hidden press HP-9 needs 40 bar.\n")
    index = base / "idx"
    fresh = docs / "fresh"  # made after the first run: nothing indexed from it
    try:
        for p in [base, *base.rglob("*")]:
            p.chmod(0o777 if p.is_dir() else 0o666)
        r = _ingest_as_unprivileged(base, str(docs), "--index", str(index))
        assert r.returncode == 0, r.stderr
        fresh.mkdir(mode=0o777)
        (fresh / "new.md").write_text("# New\n\nThe new press HP-7 needs 20 bar.\n")

        secret.chmod(0o000)
        fresh.chmod(0o000)
        r = _ingest_as_unprivileged(base, str(docs), "--index", str(index), "--json")
        secret.chmod(0o777)
        fresh.chmod(0o777)
        assert r.returncode == 1, r.stderr
        failed = {os.path.basename(f["path"]): f for f in json.loads(r.stdout)["failed"]}
        assert set(failed) == {"secret", "fresh"}
        assert {f["problem"] for f in failed.values()} == {"cannot list folder (permission denied)"}
        assert failed["secret"]["kept_previous"] is True
        assert failed["fresh"]["kept_previous"] is False
        kept = "secret: cannot list folder (permission denied) (what was indexed from this folder stays"
        assert kept in r.stderr
        assert "fresh: cannot list folder (permission denied)\n" in r.stderr
        assert any("HP-9 needs 40 bar" in c.text for c in open_index(index).chunks)
    finally:
        for p in (secret, fresh):
            if p.exists():
                p.chmod(0o755)
        shutil.rmtree(base, ignore_errors=True)


def test_file_names_are_printed_as_one_plain_line(manuals_copy: Path, tmp_path: Path) -> None:
    """A newline in a bad file's name cannot forge output lines; Rich markup in a name is printed."""
    loud = manuals_copy / "[bold red]loud.md"
    loud.write_text("# Loud\n\nThe siren SI-1 is 110 dB.\n")
    assert run_cli(str(manuals_copy), "--index", str(tmp_path / "idx"), env=HASH_ENV).returncode == 0
    loud.unlink()
    (manuals_copy / "bad\nFAILED forged.pdf").write_bytes(b"")
    (manuals_copy / "[red]x.pdf").write_bytes(b"")
    r = run_cli(str(manuals_copy), "--index", str(tmp_path / "idx"), env=HASH_ENV)
    assert r.returncode == 1
    failed = [ln for ln in r.stderr.splitlines() if ln.startswith("FAILED")]
    assert len(failed) == 2, r.stderr
    assert not any(ln.startswith("FAILED forged") for ln in r.stderr.splitlines())
    assert any("bad\\nFAILED forged.pdf" in ln for ln in failed)
    assert any("[red]x.pdf" in ln for ln in failed)
    assert "removed   " + str(manuals_copy / "[bold red]loud.md") in r.stdout  # markup printed as is


# ------------------------------------------------------------------ cross-lingual side vectors
def test_multilingual_on_ingest_completes_the_index_before_it_goes_live(
    manuals_copy: Path, tmp_path: Path
) -> None:
    """retrieval.multilingual (on by default): ingest computes the multilingual-e5 vector of every
    chunk before the swap, a re-run computes none, an index built with the setting off is completed
    by the next run, and a damaged cache costs a re-embedding, never the index."""
    from core.settings import Settings
    from index.multilingual import cache_file, missing_count, side_model_name

    name = side_model_name(Settings())  # the default passage length
    index = tmp_path / "idx"
    on: dict[str, str] = {}  # the default
    off = run_cli(
        str(manuals_copy), "--index", str(index), "--json", env={"OPASSIST_RETRIEVAL__MULTILINGUAL": "false"}
    )
    assert off.returncode == 0, off.stderr
    assert json.loads(off.stdout)["multilingual_embedded"] == 0 and not cache_file(index, name).exists()

    # switched on for an unchanged folder: the live version is completed, no new version written
    r = run_cli(str(manuals_copy), "--index", str(index), "--json", env=on)
    assert r.returncode == 0, r.stderr
    s = json.loads(r.stdout)
    assert not s["committed"] and s["multilingual_embedded"] == s["chunks_total"] > 40
    store = IndexStore(index)
    assert missing_count(index, list(store.read_chunks()), name) == 0

    # a changed file: its new chunks get side vectors in the same run, before the swap
    md = manuals_copy / "Lubrication_Notes.txt"
    md.write_text(
        md.read_text(encoding="utf-8") + "\nCheck the central grease pump monthly.\n", encoding="utf-8"
    )
    r = run_cli(str(manuals_copy), "--index", str(index), "--json", env=on)
    s = json.loads(r.stdout)
    assert r.returncode == 0 and s["committed"] and 0 < s["multilingual_embedded"] < s["chunks_total"]
    assert missing_count(index, list(store.read_chunks()), name) == 0

    # nothing changed: nothing embedded
    s = json.loads(run_cli(str(manuals_copy), "--index", str(index), "--json", env=on).stdout)
    assert s["multilingual_embedded"] == 0

    # a damaged cache: re-embedded, the index itself untouched
    version = store.current_version()
    cache_file(index, name).write_bytes(b"not an npz file")
    r = run_cli(str(manuals_copy), "--index", str(index), "--json", env=on)
    s = json.loads(r.stdout)
    assert r.returncode == 0 and s["multilingual_embedded"] == s["chunks_total"]
    assert store.current_version() == version
    assert missing_count(index, list(store.read_chunks()), name) == 0
