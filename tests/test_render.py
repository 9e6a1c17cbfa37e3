"""What the operator sees for each outcome (the HTML the chat shows; the browser tests drive it live)."""

from __future__ import annotations

from chatbot.prompt import closest_only, not_covered
from chatbot.result import AnswerResult, Citation
from ui.render import render_answer

ROW = Citation(
    1, "HP-200.pdf", "HP-200 Manual", 7, "7", "5 Fault codes", "E-107 Main pump motor overload.", "c1"
)


def test_low_confidence_shows_the_caveat_then_the_closest_lines_linked() -> None:
    r = AnswerResult(
        "What does E-107 mean?",
        closest_only("en") + "\n“E-107 Main pump motor overload.” [1]",
        abstained=True,
        lang="en",
        outcome="low_confidence",
        passages=[ROW],
    )
    html = render_answer(r, 3)
    assert 'class="abstain low-confidence"' in html and "I am not sure the manuals answer this" in html
    assert '<a class="cite" href="#cite-3-1">[1]</a>' in html  # the quoted line links to its passage
    assert "Closest passages, may not answer this:" in html and "Sources:" not in html


def test_not_in_the_manuals_says_so_and_marks_the_nearest_as_no_answer() -> None:
    r = AnswerResult(
        "Espresso?", not_covered("de"), abstained=True, lang="de", outcome="not_in_manuals", passages=[ROW]
    )
    html = render_answer(r, 1)
    assert 'class="abstain not-in-manuals"' in html and "Handbücher behandeln das nicht" in html
    assert "Nicht in den Handbüchern. Nächste Stellen (keine Antwort):" in html  # framed in German


def test_a_quoted_answer_is_framed_in_the_operators_language_and_labelled_with_the_manuals() -> None:
    quote = "E-107 Main pump motor overload."
    r = AnswerResult(
        "Was bedeutet E-107?",
        f"“{quote}” [1]\nDer Hauptpumpenmotor ist überlastet [1].",
        abstained=False,
        lang="de",
        citations=[ROW],
        passages=[ROW],
        quote=quote,
        quote_n=1,
        quote_lang="en",
    )
    html = render_answer(r, 2)
    assert "Aus dem Handbuch, Seite 7:" in html and "Handbuchtext auf Englisch" in html
    assert (
        f'<blockquote class="quote" lang="en">“{quote}” <a class="cite" href="#cite-2-1">[1]</a></blockquote>'
        in html
    )
    assert '<div class="generated">' in html and "Zusammenfassung des Assistenten" in html  # looks different
    assert "Quellen:" in html and "S. 7" in html
    for lang, frame in (
        ("es", "Del manual, página 7:"),
        ("fr", "Extrait du manuel, page 7 :"),
        ("it", "Dal manuale, pagina 7:"),
        ("pt", "Do manual, página 7:"),
        ("zh", "手册第 7 页："),
    ):
        assert frame in render_answer(r, 2, lang), lang


def test_a_passage_text_is_escaped_in_every_outcome() -> None:
    r = AnswerResult(
        "q", closest_only("en") + "\n“<script>x</script>” [1]", True, "en", outcome="low_confidence"
    )
    assert "<script>" not in render_answer(r, 1)
