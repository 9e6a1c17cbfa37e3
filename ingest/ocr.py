"""OCR of PDF pages without a text layer (scans), with Debian's Tesseract binary.

Only the pages ``pdf.py`` found empty (fewer than 3 characters from pdfium and pypdf) come here,
and only when an ``OcrContext`` is passed in: a text PDF never starts Tesseract and never loads
anything of this module beyond its imports (no pytesseract, no language model).

Each page is rendered with pdfium at ``ingest.ocr_dpi`` to a grayscale image, read by one
``tesseract ... --psm 3 tsv`` run (automatic page segmentation; words with their confidences),
and its lines are rebuilt from the block/paragraph/line numbers, so a table row stays one line
("E-107 Main pump motor ... Motor protection relay Q1 ...") as the chunker expects. Lone "|"
words (table rules read as characters) are dropped. The page's confidence is the mean word
confidence, 0-100.

Measured on a 2-core machine, Tesseract 5.3.0, the HP-200 sample manual's fault-table page at
300 dpi (``bench/ingest_bench.py --only ocr`` measures pages/s over several pages):

* ``OMP_THREAD_LIMIT=1``: 2.8 s per page instead of 9-30 s with Tesseract's default OpenMP
  threads (they spin against each other and the embedder on two cores). It is set in the child's
  environment only, so FAISS and the embedder in this process keep their threads. That is why
  the binary is run with ``subprocess`` rather than through pytesseract, whose calls always pass
  this process's own ``os.environ``; the TSV it would parse is parsed here (a dozen lines).
* Two pages at once (one single-threaded Tesseract per core): 2 pages in 2.9 s instead of 5.5 s,
  so a document's scanned pages are read by ``workers`` threads (the cores, at most 4). pdfium is
  not thread-safe: rendering (~0.04 s a page) holds a lock, Tesseract does not.
* Languages: all six installed packs at once (eng+deu+fra+spa+ita+por) cost +40% on an English
  page (3.9 s vs 2.8 s, same confidence) and +100% on a German one (3.1 s vs 1.5 s), while 'eng'
  alone loses the umlauts of German text ("Oldruck", "Uber", "Priifen") and eng+deu reads it right
  (2.3 s). So a document is read with 'eng' plus the languages its text-layer pages are written in
  (py3langid on ~400-character pieces; a language needs 15% of the pieces; at most two besides
  'eng'). A document without any text layer is probed: its first scanned pages (at most 5) are
  read with 'eng' until they hold 40 words; when those are not English, they are read again with
  eng+that language (a page or two of extra work for a non-English scan, none for an English one).
* End to end (``python bench/ingest_bench.py --only ocr``: 8 pages of the two sample PDF manuals
  rendered to image-only PDFs, 300 dpi, default settings): 0.44 pages/s with 2 workers (0.33 with
  one), mean confidence 95.6% (lowest page 95.2%), 99.1% of the text layer's words read exactly;
  the same files again from the cache in 0.03 s.

Every page read is cached at once under the index folder (``ocr-cache/<sha256[:32]>/
p00012-<key>.json``, written to a temporary file and renamed), keyed by the file's SHA-256, the
page, the dpi and the languages: a killed run, a ``--rebuild`` or a new chunker reads the pages
already done from there instead of OCRing them again. The cache is not pruned: the pages of a
file removed from the library stay (a few KB each) until ``ocr-cache/`` is deleted.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import math
import os
import shutil
import subprocess
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from functools import lru_cache, partial
from pathlib import Path
from typing import TYPE_CHECKING

from .ocr_languages import MAX_PROBE, choose_languages
from .pdf import normalize_pdf_text
from .scan import sha256_file

if TYPE_CHECKING:
    from core.settings import IngestSettings
    from index.types import DocumentRecord

log = logging.getLogger("ingest.ocr")

CACHE_DIR = "ocr-cache"  # under the index folder
CACHE_FORMAT = 1  # part of the cache key: a change in what a cached page holds re-reads the pages
PSM = "3"  # Tesseract page segmentation: automatic (columns, tables, headings)
PAGE_TIMEOUT_S = 600.0
MAX_PIXELS = 40_000_000  # A4 at 300 dpi is 8.7 MP; a large drawing is rendered at a lower dpi
MAX_WORKERS = 4

_PDFIUM = threading.Lock()  # pypdfium2 is not thread-safe
_RULE = frozenset({"|", "||", "¦", "[", "]"})  # table rules read as characters


class OcrError(Exception):
    """Tesseract or the renderer failed on one page."""


class OcrStopped(Exception):
    """The run is ending (Ctrl-C, SIGTERM): no further page is started."""


# --------------------------------------------------------------------------- the engine
@lru_cache(maxsize=4)
def _installed_languages(binary: str) -> tuple[str, ...]:
    try:
        p = subprocess.run([binary, "--list-langs"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError) as exc:
        log.warning("tesseract --list-langs failed: %s", exc)
        return ()
    lines = (p.stdout or p.stderr).splitlines()
    return tuple(ln.strip() for ln in lines[1:] if ln.strip() and ln.strip() != "osd")


def _workers() -> int:
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    return max(1, min(MAX_WORKERS, cores))


@dataclass(frozen=True)
class OcrEngine:
    """The Tesseract binary and the installed languages it may use."""

    binary: str
    languages: tuple[str, ...]  # wanted by the settings and installed, in the settings' order
    dpi: int

    @property
    def base(self) -> str:
        """The language every page is read with ('eng' when installed)."""
        return "eng" if "eng" in self.languages else self.languages[0]

    def read_page(
        self, pdf_path: Path, page_index: int, languages: Sequence[str] | None = None
    ) -> tuple[str, float]:
        """Text (lines rebuilt, normalised like PDF text) and mean word confidence of one page."""
        image, dpi = self._render(pdf_path, page_index)
        tsv = self._tesseract(image, dpi, "+".join(languages or (self.base,)))
        return text_and_confidence(tsv)

    def _render(self, pdf_path: Path, page_index: int) -> tuple[bytes, int]:
        """The page as a grayscale PGM image, and the dpi it was rendered at."""
        import pypdfium2 as pdfium

        with _PDFIUM:
            try:
                pdf = pdfium.PdfDocument(str(pdf_path))
            except pdfium.PdfiumError as exc:
                raise OcrError(f"cannot render: {exc}") from None
            try:
                page = pdf[page_index]
                try:
                    width, height = page.get_size()  # points
                    scale = self.dpi / 72
                    pixels = width * height * scale * scale
                    if pixels > MAX_PIXELS:
                        scale *= math.sqrt(MAX_PIXELS / pixels)
                    image = page.render(scale=scale, grayscale=True).to_pil()
                    buf = io.BytesIO()
                    image.save(buf, format="PPM")  # mode L: binary PGM, no compression to pay for
                finally:
                    page.close()
            except pdfium.PdfiumError as exc:
                raise OcrError(f"cannot render: {exc}") from None
            finally:
                pdf.close()
        return buf.getvalue(), round(scale * 72)

    def _tesseract(self, image: bytes, dpi: int, lang: str) -> str:
        cmd = [self.binary, "stdin", "stdout", "--psm", PSM, "--dpi", str(dpi), "-l", lang, "tsv"]
        env = {**os.environ, "OMP_THREAD_LIMIT": "1"}  # see the module docstring
        try:
            p = subprocess.run(cmd, input=image, capture_output=True, timeout=PAGE_TIMEOUT_S, env=env)
        except subprocess.TimeoutExpired:
            raise OcrError(f"tesseract took more than {PAGE_TIMEOUT_S:.0f} s") from None
        except OSError as exc:
            raise OcrError(f"tesseract could not be started: {exc}") from None
        if p.returncode != 0:
            err = p.stderr.decode("utf-8", "replace").strip().splitlines()
            raise OcrError(f"tesseract exited with {p.returncode}: {err[-1] if err else 'no message'}")
        return p.stdout.decode("utf-8", "replace")


def text_and_confidence(tsv: str) -> tuple[str, float]:
    """Lines and mean word confidence from Tesseract's TSV (one row per word, level 5)."""
    lines: dict[tuple[str, str, str], list[str]] = {}
    confs: list[float] = []
    for row in tsv.splitlines()[1:]:
        cols = row.split("\t")
        if len(cols) < 12 or cols[0] != "5":
            continue
        word = cols[11].strip()
        try:
            conf = float(cols[10])
        except ValueError:
            continue
        if not word or conf < 0 or word in _RULE:
            continue
        lines.setdefault((cols[2], cols[3], cols[4]), []).append(word)  # block, paragraph, line
        confs.append(conf)
    text = normalize_pdf_text("\n".join(" ".join(words) for words in lines.values()))
    return text, (sum(confs) / len(confs) if confs else 0.0)


def available(settings: IngestSettings) -> OcrEngine | None:
    """The OCR engine, or None: OCR is off, the tesseract binary is not on PATH, or none of the
    wanted language packs is installed."""
    if settings.ocr == "off":
        return None
    binary = shutil.which("tesseract")
    if binary is None:
        return None
    installed = _installed_languages(binary)
    langs = tuple(dict.fromkeys(lang for lang in settings.ocr_languages if lang in installed))
    if not langs:
        log.warning(
            "OCR is off: none of the languages %s is installed for tesseract (installed: %s)",
            ", ".join(settings.ocr_languages),
            ", ".join(installed) or "none",
        )
        return None
    return OcrEngine(binary, langs, settings.ocr_dpi)


def context(settings: IngestSettings, index_path: Path | str | None) -> OcrContext | None:
    """What extraction needs to OCR scanned pages in one run, or None when OCR is unavailable."""
    engine = available(settings)
    if engine is None:
        return None
    cache = Path(index_path) / CACHE_DIR if index_path is not None else None
    return OcrContext(engine, cache, settings.ocr_min_confidence, workers=_workers())


def needs_ocr(doc: DocumentRecord) -> bool:
    """An indexed document with pages left unread because OCR was unavailable when it was
    ingested (pages without text, no page read by OCR, OCR never tried on it)."""
    return bool(doc.pages_without_text) and not doc.ocr_confidence and not doc.ocr_tried


# --------------------------------------------------------------------------- one document
@dataclass(frozen=True)
class OcrPage:
    text: str
    confidence: float  # mean word confidence, 0-100 (0 when no word was read)
    seconds: float  # OCR time when it was read (also when it now comes from the cache)
    cached: bool = False


@dataclass(frozen=True)
class OcrContext:
    """The engine and the page cache of one run; ``for_file`` names the file's SHA-256 (the cache
    key; hashed here when not given)."""

    engine: OcrEngine
    cache_dir: Path | None  # <index>/ocr-cache; None: no cache
    min_confidence: float
    workers: int = 1
    sha256: str | None = None
    # set when the run ends early: pages not started yet are not read (finished ones are cached)
    stop: threading.Event = field(default_factory=threading.Event, compare=False)

    def for_file(self, sha256: str) -> OcrContext:
        return replace(self, sha256=sha256)

    def cache_path(self, sha256: str, page: int, languages: Sequence[str]) -> Path | None:
        if self.cache_dir is None:
            return None
        spec = f"v{CACHE_FORMAT}|dpi={self.engine.dpi}|psm={PSM}|lang={'+'.join(languages)}"
        key = hashlib.blake2b(spec.encode(), digest_size=6).hexdigest()
        return self.cache_dir / sha256[:32] / f"p{page:05d}-{key}.json"

    def read_pages(
        self, path: Path, pages: Sequence[int], hint: str = ""
    ) -> tuple[dict[int, OcrPage], dict[int, str]]:
        """OCR the given 1-based pages of a PDF. ``hint``: the text of its text-layer pages (tells
        the language). Returns the pages read and, for pages that could not be read, why."""
        sha = self.sha256 or sha256_file(path)
        t0 = time.perf_counter()
        done: dict[int, OcrPage] = {}
        failed: dict[int, str] = {}
        pending = list(pages)
        langs = choose_languages(hint, self.engine)
        if langs is None:  # no text layer to tell the language: probe the first scanned pages
            base = (self.engine.base,)
            probed: list[int] = []
            while pending and langs is None and len(probed) < MAX_PROBE:
                n = pending.pop(0)
                probed.append(n)
                self._collect(n, partial(self._read, path, sha, n, base), done, failed)
                langs = choose_languages("\n".join(p.text for p in done.values()), self.engine)
            if langs is not None and langs != base:
                log.info("OCR %s: the scan reads as %s, read again with it", path.name, "+".join(langs))
                for n in probed:
                    done.pop(n, None)
                    failed.pop(n, None)
                pending = probed + pending
            langs = langs or base
        else:
            log.info(
                "OCR %s: %d page(s) without a text layer, languages %s",
                path.name,
                len(pending),
                "+".join(langs),
            )
        pool = ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="ocr")
        try:
            futures: dict[int, Future[OcrPage]] = {
                n: pool.submit(self._read, path, sha, n, langs) for n in pending
            }
            for n, fut in futures.items():
                self._collect(n, fut.result, done, failed)
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
        cached = sum(p.cached for p in done.values())
        log.info(
            "OCR %s: %d page(s) in %.1f s (%d from the cache), %d failed",
            path.name,
            len(done),
            time.perf_counter() - t0,
            cached,
            len(failed),
        )
        return dict(sorted(done.items())), failed

    @staticmethod
    def _collect(
        n: int, get: Callable[[], OcrPage], done: dict[int, OcrPage], failed: dict[int, str]
    ) -> None:
        try:
            done[n] = get()
        except OcrError as exc:
            log.warning("OCR page %d failed: %s", n, exc)
            failed[n] = str(exc)

    def _read(self, path: Path, sha: str, n: int, langs: Sequence[str]) -> OcrPage:
        target = self.cache_path(sha, n, langs)
        if target is not None:
            hit = _load(target)
            if hit is not None:
                return hit
        if self.stop.is_set():
            raise OcrStopped(f"page {n} not read: the run is ending")
        t = time.perf_counter()
        text, conf = self.engine.read_page(path, n - 1, langs)
        page = OcrPage(text, conf, time.perf_counter() - t)
        if target is not None:
            _store(target, page)
        log.info(
            "OCR %s page %d: %.1f s, confidence %.0f%%, %d characters (%s)",
            path.name,
            n,
            page.seconds,
            page.confidence,
            len(page.text),
            "+".join(langs),
        )
        return page


@contextmanager
def stop_on_error(ocr: OcrContext | None) -> Iterator[None]:
    """Around a run's extraction: when it ends with an exception (Ctrl-C, SIGTERM, an error), the
    OCR of the file being read ahead starts no further page, so the run ends within a page's time."""
    try:
        yield
    except BaseException:
        if ocr is not None:
            ocr.stop.set()
        raise


def _load(path: Path) -> OcrPage | None:
    try:
        d = json.loads(path.read_text(encoding="utf-8"))
        return OcrPage(str(d["text"]), float(d["confidence"]), float(d.get("seconds", 0.0)), cached=True)
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError) as exc:  # a damaged entry is read again
        log.info("OCR cache entry %s unreadable (%s); reading the page again", path, exc)
        return None


def _store(path: Path, page: OcrPage) -> None:
    """Written to a temporary file and renamed: a killed run leaves a whole entry or none."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
        data = {"text": page.text, "confidence": round(page.confidence, 2), "seconds": round(page.seconds, 2)}
        with open(tmp, "w", encoding="utf-8") as fh:
            json.dump(data, fh, ensure_ascii=False)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except OSError as exc:  # a read-only or full disk costs the cache, not the page
        log.warning("OCR cache %s not written: %s", path, exc)
