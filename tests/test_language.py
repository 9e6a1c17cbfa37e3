"""Question-language detection (core.language): fast, the py3langid model ships in its wheel."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

import pytest

from core import language as lang

CASES = [
    # German
    ("Die Pumpe startet nicht, was tun?", "de"),
    ("Was bedeutet E-107?", "de"),
    ("Wie wechsle ich den Hydraulikfilter an der Presse?", "de"),
    ("Förderband läuft schief", "de"),
    ("Warum geht der Not-Aus nicht zurück?", "de"),
    ("Welches Öl brauche ich für das Getriebe?", "de"),
    ("Lichtvorhang quittieren", "de"),
    ("PUMPE LÄUFT NICHT", "de"),
    # French
    ("la pompe ne démarre pas", "fr"),
    ("Que signifie le défaut E-107 ?", "fr"),
    ("Comment remplacer le filtre à huile de la presse ?", "fr"),
    ("Le convoyeur s'arrête tout seul, pourquoi ?", "fr"),
    ("Quelle graisse pour les roulements ?", "fr"),
    # Spanish
    ("¿Qué significa el error E-107?", "es"),
    ("La bomba no arranca", "es"),
    ("¿Cómo cambio el filtro de aceite de la prensa?", "es"),
    ("¿Cada cuánto hay que engrasar los rodamientos?", "es"),
    ("la cinta transportadora se detiene sola", "es"),
    # Italian
    ("La pompa non parte, cosa devo fare?", "it"),
    ("Cosa significa l'allarme AL-09?", "it"),
    ("Come si sostituisce il filtro dell'olio della pressa?", "it"),
    ("Ogni quanto va cambiato l'olio idraulico?", "it"),
    ("il nastro trasportatore si ferma da solo", "it"),
    # Portuguese
    ("A bomba não arranca, o que fazer?", "pt"),
    ("O que significa o código de falha E-107?", "pt"),
    ("Como troco o filtro de óleo da prensa?", "pt"),
    ("Qual é a pressão máxima do sistema hidráulico?", "pt"),
    ("a esteira transportadora para sozinha", "pt"),
    # Dutch, Polish
    ("De pomp start niet, wat moet ik doen?", "nl"),
    ("Pompa nie uruchamia się, co zrobić?", "pl"),
    # Chinese, Japanese, Korean, Russian, Ukrainian, Arabic
    ("泵无法启动，怎么办？", "zh"),
    ("E-107 是什么意思？", "zh"),
    ("如何更换压力机的液压油滤清器？", "zh"),
    ("ポンプが起動しません。どうすればいいですか？", "ja"),
    ("펌프가 시작되지 않습니다. 어떻게 해야 하나요?", "ko"),
    ("Насос не запускается, что делать?", "ru"),
    ("Чому насос не працює?", "uk"),
    ("المضخة لا تعمل، ماذا أفعل؟", "ar"),
    # English, with codes and product names
    ("What does E-107 mean?", "en"),
    ("How do I reset the HP-200 after fault E-104?", "en"),
    ("The pump does not start", "en"),
    ("Grbl error:24 after $32=1", "en"),
    ("G53 vs G54 on the LinuxCNC mill?", "en"),
    ("ThinkPad dock not charging", "en"),
    ("belt tension CV-50", "en"),
    ("Which grease for the pulley bearings?", "en"),
    ("Can I open the guard while the press is running?", "en"),
    # no clear signal: a code, a number, nothing
    ("E-107?", "en"),
    ("E-112", "en"),
    ("$32=1", "en"),
    ("AL-09 HP-200", "en"),
    ("12345", "en"),
    ("???", "en"),
    ("", "en"),
    ("   ", "en"),
]


@pytest.mark.parametrize(("question", "expected"), CASES)
def test_detect(question: str, expected: str) -> None:
    assert lang.detect(question) == expected


@pytest.mark.xfail(reason="measured limit: two English words next to a code read as Turkish", strict=False)
def test_detect_two_english_words_and_a_code() -> None:
    assert lang.detect("conveyor alarm AL-09") == "en"


def test_detect_returns_a_plain_str_from_names() -> None:
    for question, _ in CASES:
        code = lang.detect(question)
        assert type(code) is str
        assert code in lang.NAMES


def test_name() -> None:
    assert lang.name("de") == "German"
    assert lang.name("zh") == "Chinese"
    assert lang.name("xx") == "xx"


def test_detect_is_safe_from_many_threads(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lang, "_identifier", None)  # the threads race to load the model too
    questions = [q for q, _ in CASES] * 4
    expected = [e for _, e in CASES] * 4
    results: list[str | None] = [None] * len(questions)

    def work(i: int) -> None:
        results[i] = lang.detect(questions[i])

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(questions))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == expected


def test_import_loads_no_model() -> None:
    code = "import sys, core.language; print('py3langid' in sys.modules, 'numpy' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parent.parent,
    )
    assert out.stdout.split() == ["False", "False"]
