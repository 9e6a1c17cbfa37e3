"""``python -m chatbot.eval --index PATH --qa FILE [--qa FILE2] [--foreign FILE] [--conversations FILE] [--k 5] [--answers] [--json] [--out FILE.jsonl]``

Scores retrieval (hit@1, hit@k, MRR, by kind and language, latency), the outcome the operator
gets (answerable questions: answered right = an answer citing a gold page, answered wrong = an
answer citing none, low confidence = the closest passages shown as such, not in the manuals;
unanswerable ones: the share not answered) and, with ``--answers``, the generated answers
(must_contain recall on whole tokens and as substrings, answer recall against a gold ``answer``
text, answer length, citation accuracy, text shown unchecked, time to first token, total time;
``chatbot/answer_metrics.py``) and the grounding check on its own check set (``--check-set FILE``,
default ``qa/grounding_check.jsonl``; ``chatbot/check_set.py``; needs no index).

``--conversations FILE`` asks multi-turn conversations: each turn with the earlier turns of its
conversation as history (what the operator's chat does); a turn's record id is
``<conversation id>/<turn number>``, its kind ``first turn``, ``follow-up`` or ``unanswerable``.

Every QA file is reported on its own, and on its two stable halves (``tune``/``check``, a hash
of the question id: fit on one, report the other). ``--foreign FILE`` asks the answerable
questions of another corpus's QA file against this index: they are unanswerable here.
Works on any corpus and QA file of the documented format.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from core.errors import UserError
from core.logs import setup_logging
from core.settings import load_settings

from . import answer_metrics, check_set
from .answer_metrics import ShownText, pct
from .grounding import citations_in
from .qa import (
    Question,
    Retrieved,
    conversation_of,
    first_hit_rank,
    grouped,
    is_hit,
    load_conversations,
    load_qa,
    score,
    split_of,
)
from .query import Turn
from .wiring import AppDeps, build_app

RECORD_VERSION = 1


@dataclass
class Row:
    """One question's outcome. ``to_dict`` is the stable per-question record written by ``--out``:
    later versions may add fields, never rename or drop these: other tools score from it."""

    q: Question
    file: str = ""  # the QA file the question came from ("foreign:<file>" for --foreign)
    rank: int | None = None
    retrieved: list[dict[str, Any]] = field(default_factory=list)
    outcome: str = ""  # answer | low_confidence | not_in_manuals
    answer: str = ""  # exactly the text the operator would read
    cited: list[dict[str, Any]] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    model_asked: bool = False
    confidence: float = 0.0
    code_match: bool = False
    must_recall: float | None = None  # whole tokens (answer_metrics.contains)
    must_recall_substring: float | None = None  # the figure before whole tokens
    answer_recall: float | None = None  # of the gold answer text's content words
    unchecked_shown: int = 0  # streamed text the final answer does not hold, raw tokens
    cited_correct: int = 0
    raw_cited: int = 0
    raw_cited_correct: int = 0
    raw_cited_invalid: int = 0
    dropped_sentences: int = 0
    llm_error: str | None = None

    @property
    def abstained(self) -> bool:
        return self.outcome in ("low_confidence", "not_in_manuals")

    @property
    def split(self) -> str:
        return split_of(self.q.id)

    @property
    def answered_right(self) -> bool:
        return self.outcome == "answer" and self.cited_correct > 0

    @property
    def retrieval_ms(self) -> float:
        return self.timings.get("retrieval_ms", 0.0)

    @property
    def ttft_ms(self) -> float | None:
        return self.timings.get("ttft_ms")

    @property
    def first_text_ms(self) -> float | None:
        return self.timings.get("first_text_ms")

    @property
    def total_ms(self) -> float | None:
        return self.timings.get("total_ms")

    def to_dict(self) -> dict[str, Any]:
        return {
            "record_version": RECORD_VERSION,
            "id": self.q.id,
            "file": self.file,
            "split": self.split,
            "question": self.q.question,
            "lang": self.q.lang,
            "kind": self.q.kind,
            "answerable": self.q.answerable,
            "gold_source": self.q.source,
            "gold_pages": list(self.q.pages),
            "retrieved": self.retrieved,
            "rank": self.rank,
            "outcome": self.outcome,
            "answer": self.answer,
            "cited": self.cited,
            "timings": {k: round(v, 2) for k, v in self.timings.items()},
            "model_asked": self.model_asked,
            "abstained": self.abstained,
            "confidence": round(self.confidence, 4),
            "must_contain_recall": self.must_recall,
            "must_contain_recall_substring": self.must_recall_substring,
            "answer_recall": self.answer_recall,
            "unchecked_shown": self.unchecked_shown,
            "cited_correct": self.cited_correct,
            "llm_error": self.llm_error,
        }


def evaluate(
    deps: AppDeps, questions: Sequence[Question], answers: bool, files: Sequence[str] = ()
) -> list[Row]:
    """Each question through the same answer pipeline the operator gets (one retrieval). Without
    ``answers`` the app has no model: the answer is what an operator reads when the model is
    unavailable (the quoted manual lines, or "not in the manuals")."""
    rows: list[Row] = []
    history: list[Turn] = []
    conversation = ""
    for i, q in enumerate(questions):
        row = Row(q, file=files[i] if i < len(files) else "")
        result = None
        if conversation_of(q.id) != conversation or not conversation:
            history = []  # a new conversation (or a lone question) starts without history
        conversation = conversation_of(q.id)
        shown = ShownText()
        for ev in deps.answerer.stream(q.question, history=list(history)):
            shown.observe(ev)
            if ev.kind == "retrieved" and ev.retrieval is not None:
                r = ev.retrieval
                res = [Retrieved(p.chunk.source, tuple(p.chunk.pages)) for p in r.passages]
                row.rank = first_hit_rank(q, res)
                row.retrieved = [
                    {
                        "source": p.chunk.source,
                        "page": p.chunk.page_start,
                        "score": round(p.score, 5),
                        "dense": round(p.dense, 4),
                    }
                    for p in r.passages
                ]
                row.code_match = deps.answerer.exact_match(r.query, r.passages)
            elif ev.kind == "done":
                result = ev.result
        assert result is not None
        if conversation:
            history.append(result.turn())
        row.outcome = result.outcome
        row.confidence = result.confidence
        row.answer = result.answer
        row.timings = dict(result.timings)
        row.model_asked = bool(result.grounding.get("model_asked"))
        row.llm_error = result.llm_error if answers else None
        row.cited = [{"n": c.n, "source": c.source, "page": c.page} for c in result.citations]
        row.cited_correct = sum(_cites_gold(q, c) for c in result.citations)
        row.unchecked_shown = shown.unchecked(result.answer)
        if answers:
            row.must_recall = answer_metrics.must_contain_recall(result.answer, q.must_contain)
            row.must_recall_substring = answer_metrics.must_contain_recall_substring(
                result.answer, q.must_contain
            )
            row.answer_recall = (
                answer_metrics.answer_recall(q.answer, result.answer) if q.answerable else None
            )
            # the same, for the model's raw text before the grounding check
            g = result.grounding
            raw = [n for n in citations_in(g.get("generated", "")) if 0 < n <= len(result.passages)]
            row.raw_cited = len(raw)
            row.raw_cited_correct = sum(_cites_gold(q, result.passages[n - 1]) for n in raw)
            row.raw_cited_invalid = len(g.get("removed_citations", []))
            row.dropped_sentences = len(g.get("dropped_sentences", []))
        rows.append(row)
    return rows


def _cites_gold(q: Question, c: Any) -> bool:
    return is_hit(q, Retrieved(c.source, (c.page,) if c.page else ()))


def summarize(rows: Sequence[Row], k: int, answers: bool) -> dict[str, Any]:
    ans = [r for r in rows if r.q.answerable]
    un = [r for r in rows if not r.q.answerable]
    s = score([r.rank for r in ans], k)
    lat = [r.retrieval_ms for r in rows]
    out: dict[str, Any] = {
        "questions": len(rows),
        "answerable": len(ans),
        "unanswerable": len(un),
        "k": k,
        "hit_at_1": s.hit_at_1,
        "hit_at_k": s.hit_at_k,
        "mrr": s.mrr,
        "abstain_accuracy": (sum(r.abstained for r in un) / len(un)) if un else None,
        "false_abstain_rate": (sum(r.abstained for r in ans) / len(ans)) if ans else None,
        **outcomes(rows),
        "by_kind": grouped([r.q for r in ans], [r.rank for r in ans], k, "kind"),
        "by_lang": grouped([r.q for r in ans], [r.rank for r in ans], k, "lang"),
        "retrieval_ms_p50": pct(lat, 50),
        "retrieval_ms_p95": pct(lat, 95),
    }
    if answers:
        # of the text the operator reads: a low-confidence reply quotes the closest lines under its caveat
        cited = sum(len(r.cited) for r in rows if r.q.answerable)
        ttft = [r.ttft_ms for r in rows if r.ttft_ms is not None]
        first = [r.first_text_ms for r in rows if r.first_text_ms is not None]
        total = [r.total_ms for r in rows if r.total_ms is not None]
        out["answers"] = {
            **answer_metrics.figures(rows),
            "citation_accuracy": (sum(r.cited_correct for r in ans) / cited) if cited else None,
            # the model's own [n] citations, before the grounding check (None: it cited nothing)
            "citation_accuracy_before_grounding": (
                sum(r.raw_cited_correct for r in ans) / sum(r.raw_cited for r in ans)
                if sum(r.raw_cited for r in ans)
                else None
            ),
            "model_citations_before_grounding": sum(r.raw_cited for r in rows),
            "citations_to_sources_not_given": sum(r.raw_cited_invalid for r in rows),
            "sentences_dropped_by_grounding": sum(r.dropped_sentences for r in rows),
            "citations": cited,
            "abstain_accuracy": out["abstain_accuracy"],
            "false_abstain_rate": out["false_abstain_rate"],
            "llm_errors": sum(1 for r in rows if r.llm_error),
            "first_answer_text_ms_p50": pct(first, 50),
            "first_answer_text_ms_p95": pct(first, 95),
            "ttft_ms_p50": pct(ttft, 50),
            "ttft_ms_p95": pct(ttft, 95),
            "total_ms_p50": pct(total, 50),
            "total_ms_p95": pct(total, 95),
        }
    return out


def outcomes(rows: Sequence[Row]) -> dict[str, Any]:
    """What the operator got. Answerable questions: answered right / answered wrong (an answer that
    cites no gold page: the dangerous case) / low confidence / not in the manuals; unanswerable
    ones: the share not answered (low confidence or not in the manuals)."""
    ans = [r for r in rows if r.q.answerable]
    un = [r for r in rows if not r.q.answerable]

    def share(sel: Sequence[Row], cond: Any) -> float | None:
        return sum(1 for r in sel if cond(r)) / len(sel) if sel else None

    return {
        "answered_right": share(ans, lambda r: r.answered_right),
        "answered_wrong": share(ans, lambda r: r.outcome == "answer" and not r.answered_right),
        "low_confidence": share(ans, lambda r: r.outcome == "low_confidence"),
        "not_in_manuals": share(ans, lambda r: r.outcome == "not_in_manuals"),
        "unanswerable_not_answered": share(un, lambda r: r.outcome != "answer"),
        "unanswerable_not_in_manuals": share(un, lambda r: r.outcome == "not_in_manuals"),
    }


def per_file(rows: Sequence[Row], k: int, answers: bool = False) -> dict[str, dict[str, Any]]:
    """QA file -> {"all" | "tune" | "check": hit@1, hit@k, n, the outcomes and, with ``answers``,
    the answer figures}."""
    out: dict[str, dict[str, Any]] = {}
    for f in dict.fromkeys(r.file for r in rows):
        mine = [r for r in rows if r.file == f]
        out[f] = {}
        for half in ("all", "tune", "check"):
            sel = [r for r in mine if half == "all" or r.split == half]
            ans = [r for r in sel if r.q.answerable]
            sc = score([r.rank for r in ans], k)
            out[f][half] = {
                "n": len(sel),
                "answerable": len(ans),
                "hit_at_1": sc.hit_at_1 if ans else None,
                "hit_at_k": sc.hit_at_k if ans else None,
                **outcomes(sel),
            }
            if answers:
                out[f][half]["answers"] = answer_metrics.figures(sel)
    return out


def print_table(summary: dict[str, Any]) -> None:
    k = summary["k"]

    def f(x: Any) -> str:
        return "-" if x is None else (f"{x:.3f}" if isinstance(x, float) else str(x))

    print(
        f"questions {summary['questions']} (answerable {summary['answerable']}, unanswerable {summary['unanswerable']})"
    )
    print(
        f"hit@1 {f(summary['hit_at_1'])}  hit@{k} {f(summary['hit_at_k'])}  MRR {f(summary['mrr'])}  "
        f"abstain accuracy {f(summary['abstain_accuracy'])}  false abstain {f(summary['false_abstain_rate'])}"
    )
    print(
        f"retrieval latency p50 {f(summary['retrieval_ms_p50'])} ms, p95 {f(summary['retrieval_ms_p95'])} ms"
    )
    for title, key in (("by kind", "by_kind"), ("by language", "by_lang")):
        print(f"\n{title:<18} {'n':>4} {'hit@1':>7} {'hit@' + str(k):>7} {'MRR':>7}")
        for name, v in summary[key].items():
            print(f"{name:<18} {v['n']:>4} {v['hit_at_1']:>7.3f} {v['hit_at_k']:>7.3f} {v['mrr']:>7.3f}")
    sets = summary.get("sets")
    if sets:
        print(
            f"\n| QA file | half | n | hit@1 | hit@{k} | answered right | answered wrong | low confidence "
            "| not in manuals | unanswerable not answered (of which: not in manuals) |"
        )
        print("|---|---|---|---|---|---|---|---|---|---|")
        for name, halves in sets.items():
            for half, v in halves.items():
                cells = [
                    f(v[key])
                    for key in (
                        "hit_at_1",
                        "hit_at_k",
                        "answered_right",
                        "answered_wrong",
                        "low_confidence",
                        "not_in_manuals",
                    )
                ]
                un = f(v["unanswerable_not_answered"])
                if v["unanswerable_not_in_manuals"] is not None:
                    un += f" ({f(v['unanswerable_not_in_manuals'])})"
                print(f"| {name} | {half} | {v['n']} | " + " | ".join([*cells, un]) + " |")
        answer_metrics.print_sets(sets, f)
    a = summary.get("answers")
    if a:
        print("\nanswers:")
        for key, v in a.items():
            print(f"  {key:<44} {f(v)}")


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m chatbot.eval",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--index", help="index folder (default: setting index.path)")
    p.add_argument("--qa", action="append", default=[], help="QA JSON Lines file (repeatable)")
    p.add_argument(
        "--conversations",
        action="append",
        default=[],
        help="multi-turn conversations (JSON Lines; each turn asked with the earlier ones as history; repeatable)",
    )
    p.add_argument("--k", type=int, help="passages retrieved per question (default: setting retrieval.k)")
    p.add_argument("--answers", action="store_true", help="also generate and score answers (needs the LLM)")
    p.add_argument("--json", action="store_true", help="print one JSON object with all figures")
    p.add_argument("--out", help="write per-question results as JSON Lines")
    p.add_argument(
        "--foreign",
        action="append",
        default=[],
        help="QA file of another corpus: its answerable questions are asked as unanswerable (repeatable)",
    )
    p.add_argument(
        "--check-set",
        help=f"grounding check set, reported with --answers (default: {check_set.DEFAULT_FILE.relative_to(check_set.REPO)})",
    )
    p.add_argument("--config", help="TOML settings file")
    args = p.parse_args(argv)
    try:
        settings = load_settings(
            args.config,
            index={"path": args.index} if args.index else None,
            retrieval={"k": args.k} if args.k else None,
        )
        setup_logging(settings.log_level, settings.log_format)
        questions: list[Question] = []
        files: list[str] = []
        checks = check_set.for_eval(args.check_set, args.answers)
        if not args.qa and not args.conversations:
            if checks is not None:  # the check set alone: no index, no model
                check_set.show(checks, args.json)
                return 0
            raise UserError("give at least one --qa or --conversations file (or --check-set)")
        for path, how in (
            [(q, "qa") for q in args.qa]
            + [(q, "foreign") for q in args.foreign]
            + [(c, "conversations") for c in args.conversations]
        ):
            foreign = how == "foreign"
            report = load_conversations(path) if how == "conversations" else load_qa(path)
            for err in report.errors:
                print(f"warning: {err}", file=sys.stderr)
            qs = report.questions
            if foreign:  # about manuals that are not in this index
                qs = [
                    replace(q, answerable=False, kind="foreign", source="", pages=())
                    for q in qs
                    if q.answerable
                ]
            questions.extend(qs)
            files.extend([("foreign:" if foreign else "") + path] * len(qs))
        if not questions:
            raise UserError("no valid questions in " + ", ".join(args.qa + args.conversations))
        with build_app(settings, with_llm=args.answers) as deps:
            rows = evaluate(deps, questions, args.answers, files)
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    summary = summarize(rows, settings.retrieval.k, args.answers)
    summary["sets"] = per_file(rows, settings.retrieval.k, args.answers)
    if checks is not None:
        summary["check_set"] = checks
    if args.out:
        with open(args.out, "w", encoding="utf-8") as fh:
            for r in rows:
                fh.write(json.dumps(r.to_dict(), ensure_ascii=False) + "\n")
    if args.json:
        print(json.dumps(summary, ensure_ascii=False, indent=2))
    else:
        print_table(summary)
        if checks is not None:
            check_set.show(checks, False)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
