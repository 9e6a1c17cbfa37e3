"""Ingest benchmark: ours vs the naive LangChain pipeline, side by side in one run.

    python bench/ingest_bench.py                 # corpus (704 pages) + the 1,335-page manual
    python bench/ingest_bench.py --only corpus   # just ../shared/corpus
    python bench/ingest_bench.py --ablations     # also ours with the torch runtime, and pypdf only
    python bench/ingest_bench.py --multilingual  # also ours with the cross-lingual side vectors on
    python bench/ingest_bench.py --ocr           # also OCR pages/s and confidence on scanned pages
    python bench/ingest_bench.py --only ocr      # just that (needs Debian tesseract-ocr: make ocr)

Every pipeline runs in its own fresh process (cold start, model load included), so wall time
and peak RSS are end to end. Ratios are the headline: absolute times on a shared 2-core
machine are noisy. Retrieval hit@k is page-level on ../shared/qa/dev.jsonl (dense retrieval
only for ours here, so the figure isolates ingestion quality).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
SHARED = Path(os.environ.get("OPASSIST_SHARED", ROOT.parent / "shared"))

MEASURE = """
import json, resource, sys, time
sys.path.insert(0, {root!r})
t = time.perf_counter()
from ingest.cli import main
rc = main({argv!r})
print(json.dumps({{"rc": rc, "wall": time.perf_counter() - t,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}}), file=sys.stderr)
"""


def run_ours(folder: Path, index: Path, env: dict[str, str]) -> dict:
    argv = [str(folder), "--index", str(index), "--json", "--no-progress"]
    t = time.perf_counter()
    p = subprocess.run(
        [sys.executable, "-c", MEASURE.format(root=str(ROOT), argv=argv)],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        cwd=ROOT,
    )
    wall = time.perf_counter() - t
    if p.returncode != 0:
        raise SystemExit(f"ingest failed: {p.stderr[-2000:]}")
    summary = json.loads(p.stdout)
    measured = json.loads(p.stderr.strip().splitlines()[-1])
    return {"summary": summary, "wall": wall, "peak_rss_mb": measured["peak_rss_mb"]}


def run_naive(target: Path, qa: Path | None) -> dict:
    cmd = [sys.executable, str(ROOT / "bench" / "naive_pipeline.py"), str(target)]
    if qa:
        cmd += ["--qa", str(qa)]
    t = time.perf_counter()
    p = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    wall = time.perf_counter() - t
    if p.returncode != 0:
        raise SystemExit(f"naive pipeline failed: {p.stderr[-2000:]}")
    out = json.loads(p.stdout.strip().splitlines()[-1])
    out["wall"] = wall
    return out


def hit_at_k(index: Path, qa: Path, k: int, env: dict[str, str]) -> dict:
    """Dense retrieval over our index, scored page-level."""
    from chatbot.qa import Retrieved, first_hit_rank, load_qa, score
    from core.settings import load_settings
    from index import open_index
    from index.embeddings import load_embedder, spec_from_settings

    old = {k_: os.environ.get(k_) for k_ in env}
    os.environ.update(env)
    try:
        settings = load_settings(None)
    finally:
        for k_, v in old.items():
            if v is None:
                os.environ.pop(k_, None)
            else:
                os.environ[k_] = v
    emb = load_embedder(spec_from_settings(settings.embedding))
    idx = open_index(index)
    qs = [q for q in load_qa(qa).questions if q.answerable]
    ranks = []
    for q in qs:
        hits = idx.search(emb.embed_query(q.question), k)
        res = [Retrieved(idx.chunks[r].source, tuple(idx.chunks[r].pages)) for r, _ in hits]
        ranks.append(first_hit_rank(q, res))
    en = [r for q, r in zip(qs, ranks, strict=True) if q.lang == "en"]
    s = score(ranks, k)
    return {
        "hit_at_k": s.hit_at_k,
        "hit_at_1": s.hit_at_1,
        "mrr": s.mrr,
        "hit_at_k_en": score(en, k).hit_at_k,
    }


# Sample-manual pages scanned to image-only PDFs for the OCR section: the fault tables, the
# specifications, prose and a procedure.
OCR_PAGES = {"HP-200_Hydraulic_Press_Manual.pdf": [3, 5, 7, 8], "CV-50_Conveyor_Manual.pdf": [2, 3, 4, 5]}


def _word_recall(truth: str, got: str) -> float:
    """Share of the text layer's words (with multiplicity) that OCR read exactly."""
    from collections import Counter

    want, have = Counter(truth.split()), Counter(got.split())
    return sum((want & have).values()) / max(1, sum(want.values()))


def run_ocr(tmpdir: Path) -> dict | None:
    """OCR of sample-manual pages rendered to image-only PDFs (what a scanner produces), through
    extract() with the default settings (dpi, languages, workers): cold, then from the page cache."""
    import pypdfium2 as pdfium

    from core.settings import load_settings
    from ingest import ocr
    from ingest.extract import extract

    settings = load_settings(None).ingest
    ctx = ocr.context(settings, tmpdir / "ocr-index")
    if ctx is None:
        print("OCR: not available (install Debian tesseract-ocr: make ocr)", file=sys.stderr)
        return None
    scans: list[tuple[Path, list[str]]] = []
    for name, numbers in OCR_PAGES.items():
        src = ROOT / "manuals" / name
        pdf = pdfium.PdfDocument(str(src))
        try:
            truth = [extract(src).pages[n - 1].text for n in numbers]
            images = [pdf[n - 1].render(scale=settings.ocr_dpi / 72).to_pil().convert("L") for n in numbers]
        finally:
            pdf.close()
        dst = tmpdir / f"scan-{src.stem}.pdf"
        images[0].save(
            dst, format="PDF", resolution=settings.ocr_dpi, save_all=True, append_images=images[1:]
        )
        scans.append((dst, truth))
    print(f"[ocr] {sum(len(t) for _, t in scans)} scanned pages ...", file=sys.stderr, flush=True)
    t = time.perf_counter()
    docs = [extract(path, ocr=ctx) for path, _ in scans]
    cold = time.perf_counter() - t
    t = time.perf_counter()
    for path, _ in scans:
        extract(path, ocr=ctx)
    cached = time.perf_counter() - t
    confs = [c for d in docs for c in d.ocr_confidence.values()]
    recall = [
        _word_recall(truth, p.text)
        for d, (_, ts) in zip(docs, scans, strict=True)
        for truth, p in zip(ts, d.pages, strict=True)
    ]
    pages = sum(len(ts) for _, ts in scans)
    return {
        "pages": pages,
        "read": len(confs),
        "workers": ctx.workers,
        "dpi": ctx.engine.dpi,
        "languages": "+".join(ctx.engine.languages),
        "seconds": cold,
        "pages_per_s": pages / cold if cold else 0.0,
        "mean_confidence": sum(confs) / len(confs) if confs else 0.0,
        "min_confidence": min(confs) if confs else 0.0,
        "word_recall": sum(recall) / len(recall) if recall else 0.0,
        "cached_seconds": cached,
    }


def print_ocr(r: dict | None) -> None:
    if r is None:
        return
    hdr = [
        "scanned pages",
        "read",
        "dpi",
        "workers",
        "OCR s",
        "pages/s",
        "mean conf %",
        "min conf %",
        "word recall",
        "cached re-read s",
    ]
    row = [
        str(r["pages"]),
        str(r["read"]),
        str(r["dpi"]),
        str(r["workers"]),
        fmt(r["seconds"]),
        fmt(r["pages_per_s"], 2),
        fmt(r["mean_confidence"]),
        fmt(r["min_confidence"]),
        fmt(r["word_recall"], 3),
        fmt(r["cached_seconds"], 3),
    ]
    widths = [max(len(h), len(c)) for h, c in zip(hdr, row, strict=True)]
    print("\nOCR of sample-manual pages rendered to image-only PDFs (Tesseract, default settings):")
    print(" | ".join(h.ljust(w) for h, w in zip(hdr, widths, strict=True)))
    print("-|-".join("-" * w for w in widths))
    print(" | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)))
    print(
        "word recall = share of the text layer's words OCR read exactly; 'cached re-read' = the same "
        "files again (pages from the OCR cache). Each document is read with 'eng' plus the languages it is "
        "written in, among those installed: " + r["languages"]
    )


def fmt(x: float | None, nd: int = 1) -> str:
    return "-" if x is None else f"{x:.{nd}f}"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument(
        "--only", choices=["corpus", "big", "ocr"], help="run one dataset (ocr: only the OCR section)"
    )
    ap.add_argument(
        "--multilingual",
        action="store_true",
        help="also: ours with retrieval.multilingual on (e5 side vectors)",
    )
    ap.add_argument("--ablations", action="store_true", help="also: ours with runtime=torch, ours pypdf-only")
    ap.add_argument(
        "--ocr", action="store_true", help="also: OCR pages/s and confidence on scanned sample pages"
    )
    ap.add_argument("-k", type=int, default=5)
    ap.add_argument("--json", action="store_true", help="print raw results as JSON too")
    args = ap.parse_args(argv)
    corpus = SHARED / "corpus"
    big = SHARED / "bench" / "LinuxCNC_Documentation.pdf"
    qa = SHARED / "qa" / "dev.jsonl"
    if args.only == "ocr":
        with tempfile.TemporaryDirectory(prefix="opassist-bench-ocr-") as tmp:
            r = run_ocr(Path(tmp))
        print_ocr(r)
        if args.json and r is not None:
            print(json.dumps(r, indent=1))
        return 0 if r is not None else 2
    if not corpus.is_dir():
        print(f"needs {corpus}", file=sys.stderr)
        return 2

    # make sure the one-time ONNX export is not billed to the first run
    from core.settings import load_settings
    from index.embeddings import load_embedder, spec_from_settings

    load_embedder(spec_from_settings(load_settings(None).embedding))

    rows: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="opassist-bench-") as tmp:
        tmpdir = Path(tmp)
        bigdir = tmpdir / "big"
        bigdir.mkdir()
        if big.exists():
            (bigdir / big.name).symlink_to(big)
        datasets = [("corpus", corpus, corpus, qa)]
        if big.exists():
            datasets.append(("big-manual", bigdir, big, None))
        if args.only:
            datasets = [d for d in datasets if d[0].startswith(args.only)]
        # Same input as the naive pipeline: PDFs only (the corpus folders also hold license texts).
        pdf_only = {"OPASSIST_INGEST__EXTENSIONS": '[".pdf"]'}
        variants: list[tuple[str, dict[str, str]]] = [("ours", pdf_only)]
        if args.multilingual:
            variants.append(
                ("ours + cross-lingual vectors", {**pdf_only, "OPASSIST_RETRIEVAL__MULTILINGUAL": "true"})
            )
        if args.ablations:
            variants += [
                ("ours, torch runtime", {**pdf_only, "OPASSIST_EMBEDDING__RUNTIME": "torch"}),
                ("ours, pypdf only", {**pdf_only, "OPASSIST_INGEST__PDF_EXTRACTOR": "pypdf"}),
            ]
        for name, folder, target, qa_file in datasets:
            print(f"[{name}] naive pipeline ...", file=sys.stderr, flush=True)
            naive = run_naive(target, qa_file)
            rows.append(
                {
                    "dataset": name,
                    "pipeline": f"naive ({naive['impl']})",
                    "pages": naive["pages"],
                    "chunks": naive["chunks"],
                    **{f"s_{k}": v for k, v in naive["seconds"].items()},
                    "wall": naive["wall"],
                    "peak_rss_mb": naive["peak_rss_mb"],
                    "hit_at_k": naive.get("hit_at_k"),
                    "hit_at_k_en": naive.get("hit_at_k_en"),
                    "hit_at_1": naive.get("hit_at_1"),
                }
            )
            for vname, env in variants:
                print(f"[{name}] {vname} ...", file=sys.stderr, flush=True)
                index = tmpdir / f"idx-{name}-{len(rows)}"
                ours = run_ours(folder, index, env)
                again = run_ours(folder, index, env)
                s = ours["summary"]
                row = {
                    "dataset": name,
                    "pipeline": vname,
                    "pages": s["pages_processed"],
                    "chunks": s["chunks_total"],
                    **{f"s_{k}": v for k, v in s["seconds"].items()},
                    "wall": ours["wall"],
                    "peak_rss_mb": ours["peak_rss_mb"],
                    "rerun_wall": again["wall"],
                    "rerun_internal": again["summary"]["seconds"].get("total"),
                }
                if qa_file:
                    row.update(hit_at_k(index, qa_file, args.k, env))
                rows.append(row)
        ocr_result = run_ocr(tmpdir) if args.ocr else None

    print()
    hdr = [
        "dataset",
        "pipeline",
        "pages",
        "chunks",
        "extract s",
        "chunk s",
        "embed s",
        "total s",
        "pages/s",
        "peak RSS MB",
        f"hit@{args.k}",
        f"hit@{args.k} en",
        "re-run s",
    ]
    table = []
    for r in rows:
        pps = r["pages"] / r["wall"] if r["wall"] else 0
        table.append(
            [
                r["dataset"],
                r["pipeline"],
                str(r["pages"]),
                str(r["chunks"]),
                fmt(r.get("s_extract")),
                fmt(r.get("s_chunk")),
                fmt(r.get("s_embed")),
                fmt(r["wall"]),
                fmt(pps),
                fmt(r["peak_rss_mb"], 0),
                fmt(r.get("hit_at_k"), 3),
                fmt(r.get("hit_at_k_en"), 3),
                fmt(r.get("rerun_wall"), 2),
            ]
        )
    widths = [max(len(h), *(len(t[i]) for t in table)) for i, h in enumerate(hdr)]
    print(" | ".join(h.ljust(w) for h, w in zip(hdr, widths, strict=True)))
    print("-|-".join("-" * w for w in widths))
    for t in table:
        print(" | ".join(c.ljust(w) for c, w in zip(t, widths, strict=True)))
    print()
    for ds in dict.fromkeys(r["dataset"] for r in rows):
        naive = next(r for r in rows if r["dataset"] == ds and r["pipeline"].startswith("naive"))
        for r in rows:
            if r["dataset"] == ds and not r["pipeline"].startswith("naive"):
                ratio = (r["pages"] / r["wall"]) / (naive["pages"] / naive["wall"])
                print(
                    f"{ds}: {r['pipeline']} / naive end-to-end pages/s = {ratio:.2f}x"
                    + (
                        f"; re-run of unchanged input {r['rerun_wall']:.2f} s wall "
                        f"({r['rerun_internal']:.3f} s inside ingest)"
                        if r.get("rerun_wall")
                        else ""
                    )
                )
    print(
        "\ntimes are wall seconds of a fresh process (interpreter start and model load included);"
        " stage columns are inside that time. 're-run s' = the same command again on the unchanged input."
    )
    print_ocr(ocr_result)
    if args.json:
        print(json.dumps({"rows": rows, "ocr": ocr_result} if args.ocr else rows, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
