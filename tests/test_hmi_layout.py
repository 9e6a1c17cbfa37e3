"""The HMI embed view (``/?embed=1``) on the touch panels it is made for: 800x480 and 1024x600.

The answer and its first citation are shown without scrolling, nothing covers the answer, the
sources open as an overlay on tap and close again, and every touch target is at least 44 px.
Real ``python -m ui`` process, real model server, Debian's Chromium with touch events.
Screenshots go to artifacts/screenshots/hmi_<w>x<h>_answer.png and hmi_<w>x<h>_source.png.
"""

from __future__ import annotations

import re
import shutil
import time
from typing import Any

import pytest
from conftest import MANUALS, SHOTS, UIProcess, make_settings

PANELS = [(800, 480), (1024, 600)]
QUESTION = "How do I test the emergency stop pull cord?"
MIN_TARGET = 44

# Geometry of the last assistant message, its answer block and first citation link, measured in the page.
_MEASURE = """() => {
  const rows = document.querySelectorAll('#chat .bot-row');
  const m = rows[rows.length - 1];
  const ans = m && m.querySelector('.answer, .abstain');
  const cite = m && m.querySelector('a[href^="#cite-"]');
  const wrap = document.querySelector('#chat .bubble-wrap');
  const box = (e) => { const r = e.getBoundingClientRect();
    return {left: r.left, top: r.top, right: r.right, bottom: r.bottom, width: r.width, height: r.height}; };
  if (!ans || !cite || !wrap) return null;
  const a = box(ans);
  const inset = 3;
  const points = [[a.left + inset, a.top + inset], [a.right - inset, a.top + inset], [a.left + inset, a.bottom - inset],
    [a.right - inset, a.bottom - inset], [(a.left + a.right) / 2, (a.top + a.bottom) / 2]];
  const covered = [];
  for (const [x, y] of points) {
    const e = document.elementFromPoint(x, y);
    if (!e || !m.contains(e)) covered.push([x, y, e ? e.outerHTML.slice(0, 160) : null]);
  }
  return {answer: a, cite: box(cite), chat: box(wrap), width: innerWidth, height: innerHeight,
          pageScroll: document.scrollingElement.scrollTop, chatScroll: wrap.scrollTop,
          chatScrollMax: wrap.scrollHeight - wrap.clientHeight, covered};
}"""

# Every button and link the operator can see (inside `root`), with its size.
_TARGETS = """(root) => {
  const out = [];
  for (const e of document.querySelectorAll(root + ' :is(button, a[href], [role=button])')) {
    if (!e.checkVisibility({visibilityProperty: true, opacityProperty: true})) continue;
    const r = e.getBoundingClientRect();
    if (r.width === 0 || r.height === 0) continue;
    if (r.bottom <= 0 || r.top >= innerHeight || r.right <= 0 || r.left >= innerWidth) continue;
    const cs = getComputedStyle(e);
    if (cs.pointerEvents === 'none') continue;
    out.push({label: (e.getAttribute('aria-label') || e.innerText || e.tagName).trim().slice(0, 60),
              width: r.width, height: r.height});
  }
  return out;
}"""


@pytest.fixture(scope="module")
def hmi(tmp_path_factory: pytest.TempPathFactory, llm_server, real_embedder):
    """`python -m ui` on its own copy of the sample manuals, configured as in test_ui.py."""
    from ingest.pipeline import run_ingest

    root = tmp_path_factory.mktemp("hmi")
    docs = root / "manuals"
    shutil.copytree(MANUALS, docs)
    settings = make_settings(root, "sentence-transformers")
    run_ingest([docs], settings, embedder=real_embedder)
    env = {
        "OPASSIST_LLM__BASE_URL": llm_server.base_url,
        "OPASSIST_LLM__ANSWER_STYLE": "quote-first",
        "OPASSIST_LLM__MAX_TOKENS": "64",
        "OPASSIST_UI__FEEDBACK_DB": str(root / "feedback.sqlite"),
        "OPASSIST_UI__CACHE_DIR": str(root / "cache"),
        "OPASSIST_UI__CONCURRENCY": "4",
    }
    proc = UIProcess(settings.index.path, env, root / "ui.log")
    yield proc.url
    proc.stop()


def _panel(browser: Any, w: int, h: int) -> Any:
    """A page as on the touch panel: its size, touch events."""
    ctx = browser.new_context(viewport={"width": w, "height": h}, has_touch=True)
    return ctx.new_page()


def _open_embed(page: Any, url: str, equipment: str = "conveyor") -> None:
    page.goto(f"{url}/?embed=1&equipment={equipment}", wait_until="load")
    page.wait_for_selector("#question textarea", timeout=60_000)
    page.wait_for_function("() => document.body.classList.contains('embed')")


def _ask(page: Any, question: str, timeout: float = 120_000) -> None:
    page.fill("#question textarea", question)
    page.tap("#send")
    page.wait_for_function(
        "() => { const m = document.querySelectorAll('#chat .message'); return m.length && "
        "m[m.length-1].querySelector('.chips, .abstain'); }",
        timeout=timeout,
    )


def _settled(page: Any, timeout: float = 10.0) -> dict:
    """The measurements once the layout has stopped moving (Gradio scrolls the chat after an update)."""
    last: dict | None = None
    stable = 0
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        time.sleep(0.25)
        now = page.evaluate(_MEASURE)
        if now is not None and last is not None and now == last:
            stable += 1
            if stable >= 4:  # a second without change (covers Gradio's 300 ms scroll and the HMI's 700 ms)
                return now
        else:
            stable = 0
        last = now
    assert last is not None, "no answer with a citation in the last message"
    return last


def _inside(box: dict, left: float, top: float, right: float, bottom: float) -> bool:
    tol = 0.5
    return (
        box["left"] >= left - tol
        and box["top"] >= top - tol
        and box["right"] <= right + tol
        and box["bottom"] <= bottom + tol
    )


def _small_targets(page: Any, root: str) -> list[dict]:
    return [t for t in page.evaluate(_TARGETS, root) if t["height"] < MIN_TARGET or t["width"] < MIN_TARGET]


@pytest.mark.parametrize(("w", "h"), PANELS)
def test_panel_shows_the_answer_and_its_citation_and_opens_the_source_on_tap(
    hmi: str, browser: Any, w: int, h: int
) -> None:
    page = _panel(browser, w, h)
    _open_embed(page, hmi)
    # the status as one compact line (the header is hidden on the panel)
    page.wait_for_function(
        "() => document.querySelector('#embed-status')?.innerText.includes('conveyor')", timeout=30_000
    )
    status = page.query_selector("#embed-status")
    assert status is not None and status.is_visible()
    sb = status.bounding_box()
    assert sb is not None and sb["height"] <= 28, sb
    assert "manuals" in status.inner_text()
    assert not page.is_visible("#header")
    assert not page.is_visible("#sources-col")  # not in the flow before a tap
    assert not page.is_visible("#close-sources")
    ask = page.query_selector("#send").bounding_box()
    assert ask["height"] >= MIN_TARGET and ask["width"] >= MIN_TARGET

    _ask(page, QUESTION)
    geo = _settled(page)
    page.screenshot(path=str(SHOTS / f"hmi_{w}x{h}_answer.png"))
    text = page.inner_text("#chat")
    assert "CV-50" in text and "HP-200" not in text  # the conveyor's manual only
    # no scrolling of the page; the answer and its first citation inside the panel and the chat's view
    assert geo["pageScroll"] == 0, geo
    assert page.evaluate("() => document.documentElement.scrollHeight") <= h + 1
    assert page.evaluate("() => document.documentElement.scrollWidth") <= w + 1
    for name in ("answer", "cite"):
        assert _inside(geo[name], 0, 0, geo["width"], geo["height"]), (name, geo)
        c = geo["chat"]
        assert _inside(geo[name], c["left"], c["top"], c["right"], c["bottom"]), (name, geo)
    assert geo["cite"]["height"] >= MIN_TARGET, geo
    # nothing (toolbar, buttons, status, question row) covers the answer
    assert geo["covered"] == [], geo["covered"]
    # chat toolbar (share/clear/copy all) is hidden; the like/dislike buttons stay usable
    toolbar = page.query_selector_all("#chat .top-panel button, #chat button[aria-label='Copy conversation']")
    assert toolbar and not any(b.is_visible() for b in toolbar)
    assert page.locator("#chat button[aria-label='Like']").last.is_visible()
    assert page.locator("#chat button[aria-label='Dislike']").last.is_visible()
    small = _small_targets(page, "body")
    assert small == [], small

    # tap the first citation: the source opens as an overlay over the whole panel
    chat_scroll = geo["chatScroll"]
    page.tap("#chat .bot-row >> nth=-1 >> a[href^='#cite-'] >> nth=0")
    page.wait_for_selector("#sources-col", state="visible", timeout=10_000)
    page.wait_for_function(
        "() => { const t = document.querySelector('#source-info')?.innerText || ''; "
        "return t.includes('CV-50_Conveyor_Manual.pdf') && /page \\d+/.test(t); }",
        timeout=30_000,
    )
    info = page.inner_text("#source-info")
    assert "CV-50" in info and re.search(r"page \d+", info), info
    overlay = page.evaluate(
        """() => { const e = document.querySelector('#sources-col'); const r = e.getBoundingClientRect();
        const cs = getComputedStyle(e);
        return {left: r.left, top: r.top, width: r.width, height: r.height, position: cs.position,
                background: cs.backgroundColor, overflowY: cs.overflowY, z: cs.zIndex}; }"""
    )
    assert overlay["position"] == "fixed" and overlay["background"] == "rgb(255, 255, 255)", overlay
    assert overlay["overflowY"] in ("auto", "scroll"), overlay
    assert overlay["left"] <= 0 and overlay["top"] <= 0, overlay
    assert overlay["width"] >= w - 1 and overlay["height"] >= h - 1, overlay
    close = page.query_selector("#close-sources")
    assert close is not None and close.is_visible()
    cb = close.bounding_box()
    assert cb is not None and cb["height"] >= MIN_TARGET and cb["width"] >= MIN_TARGET, cb
    assert cb["y"] >= 0 and cb["y"] + cb["height"] <= h / 3, cb  # at the top of the overlay
    top = page.evaluate(
        "([x, y]) => document.elementFromPoint(x, y)?.closest('#close-sources') !== null",
        [cb["x"] + cb["width"] / 2, cb["y"] + cb["height"] / 2],
    )
    assert top, "the Close button is covered"
    page.wait_for_selector("#page-image img", timeout=30_000)
    small = _small_targets(page, "#sources-col")
    assert small == [], small
    page.screenshot(path=str(SHOTS / f"hmi_{w}x{h}_source.png"))
    # the Close button stays at the top while the source is scrolled
    page.evaluate("() => { document.querySelector('#sources-col').scrollTop = 400; }")
    cb2 = close.bounding_box()
    assert cb2 is not None and cb2["y"] >= 0 and cb2["y"] + cb2["height"] <= h / 3, cb2

    # Close returns to the chat where it was
    close.tap()
    page.wait_for_selector("#sources-col", state="hidden", timeout=5_000)
    after = page.evaluate(_MEASURE)
    assert after["pageScroll"] == 0 and after["chatScroll"] == chat_scroll, (after, chat_scroll)
    assert _inside(after["answer"], 0, 0, w, h) and after["covered"] == [], after
    page.context.close()


def test_unknown_machine_banner_stays_visible_on_the_small_panel(hmi: str, browser: Any) -> None:
    page = _panel(browser, 800, 480)
    _open_embed(page, hmi, equipment="conveyer")  # mistyped tag
    page.wait_for_selector(".unknown-machine", timeout=60_000)
    assert page.is_visible("#machine-banner") and page.is_visible(".unknown-machine")
    banner = page.query_selector("#machine-banner").bounding_box()
    assert banner is not None and banner["y"] >= 0 and banner["y"] + banner["height"] <= 480
    page.wait_for_function(
        "() => document.querySelector('#embed-status')?.innerText.includes('conveyer')", timeout=30_000
    )
    row = page.query_selector("#ask-row").bounding_box()
    assert row is not None and row["y"] + row["height"] <= 480  # the question row is still on the panel
    assert page.evaluate("() => document.documentElement.scrollHeight") <= 481
    small = _small_targets(page, "body")
    assert small == [], small
    page.context.close()


def test_full_view_keeps_the_two_columns(hmi: str, browser: Any) -> None:
    page = browser.new_page(viewport={"width": 1280, "height": 860})
    page.goto(hmi + "/", wait_until="load")
    page.wait_for_selector("#question textarea", timeout=60_000)
    assert page.is_visible("#header") and page.is_visible("#sources-col")
    assert not page.is_visible("#close-sources") and not page.is_visible("#embed-status")
    chat = page.query_selector("#chat-col").bounding_box()
    src = page.query_selector("#sources-col").bounding_box()
    assert chat is not None and src is not None
    assert src["x"] >= chat["x"] + chat["width"] - 1 and abs(src["y"] - chat["y"]) < 40  # side by side
    assert page.evaluate("() => getComputedStyle(document.querySelector('#sources-col')).position") != "fixed"
    page.close()


# Every citation link of the last answer: its message-citation id, its number, its text.
_LINKS = """() => {
  const rows = document.querySelectorAll('#chat .bot-row');
  const m = rows[rows.length - 1];
  return [...m.querySelectorAll('a[href^="#cite-"]')].map((a, i) => ({i, href: a.getAttribute('href'),
    text: a.innerText.trim()}));
}"""


@pytest.mark.parametrize("view", ["full", "hmi"])
def test_every_citation_opens_its_own_source(hmi: str, browser: Any, view: str) -> None:
    """[2] and [3], inline and in the source list, open their own document and page, not [1]'s."""
    if view == "hmi":
        page = _panel(browser, 800, 480)
        _open_embed(page, hmi, equipment="press")
    else:
        page = _panel(browser, 1280, 860)  # a shop-floor PC with a touch screen, clicked with a mouse
        page.goto(hmi + "/", wait_until="load")
        page.wait_for_selector("#question textarea", timeout=60_000)
    _ask(page, "What does E-107 mean?")
    links = page.evaluate(_LINKS)
    numbers = sorted({int(link["href"].rsplit("-", 1)[1]) for link in links})
    assert len(numbers) >= 3, links  # the question's passages: [1] ... [n]
    # the source list names each one's document and page ("[2] HP-200 ... — p. 8")
    where = {int(link["href"].rsplit("-", 1)[1]): link["text"] for link in links if len(link["text"]) > 4}
    for link in sorted(links, key=lambda x: -int(x["href"].rsplit("-", 1)[1])):  # [3], [2], [1]
        n = int(link["href"].rsplit("-", 1)[1])
        target = page.locator("#chat .bot-row").last.locator("a[href^='#cite-']").nth(link["i"])
        if view == "hmi":
            target.tap()
            page.wait_for_selector("#sources-col", state="visible", timeout=10_000)
        else:
            target.click()
        page.wait_for_function(
            "(n) => (document.querySelector('#source-info')?.innerText || '').trim().startsWith('[' + n + ']')",
            arg=n,
            timeout=30_000,
        )
        info = page.inner_text("#source-info")
        page_no = re.search(r"p\. (\d+)", where.get(n, ""))
        if page_no:
            assert f"page {page_no.group(1)}" in info, (n, where[n], info)
        if view == "hmi":
            page.tap("#close-sources")
            page.wait_for_selector("#sources-col", state="hidden", timeout=5_000)
    page.context.close()


# The newest answer's first line against the chat's visible area.
_NEWEST = """() => {
  const rows = document.querySelectorAll('#chat .bot-row');
  const m = rows[rows.length - 1];
  const wrap = document.querySelector('#chat .bubble-wrap');
  const a = m.getBoundingClientRect(), w = wrap.getBoundingClientRect();
  return {rows: rows.length, top: a.top, bottom: a.bottom, viewTop: w.top, viewBottom: w.bottom,
          text: m.innerText.slice(0, 60)};
}"""


def test_the_newest_answer_is_in_view_on_the_panel_after_each_question(hmi: str, browser: Any) -> None:
    page = _panel(browser, 800, 480)
    _open_embed(page, hmi, equipment="press")
    # the first answer is taller than the chat: the panel shows its top, and the next ones must follow
    questions = [
        "What PPE is required when changing the die?",
        "What does E-104 mean?",
        "What is the rated force of the HP-200?",
    ]
    for k, q in enumerate(questions, 1):
        page.fill("#question textarea", q)
        page.tap("#send")
        page.wait_for_function(
            "(k) => { const m = document.querySelectorAll('#chat .bot-row'); return m.length === k && "
            "m[k - 1].querySelector('.chips, .abstain'); }",
            arg=k,
            timeout=120_000,
        )
        geo = page.evaluate(_NEWEST)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:  # the panel settles (Gradio's scroll, then the page's)
            time.sleep(0.25)
            geo = page.evaluate(_NEWEST)
        assert geo["rows"] == k, geo
        first_line = geo["top"] + 24
        assert geo["viewTop"] - 1 <= geo["top"] and first_line <= geo["viewBottom"], (q, geo)
        page.screenshot(path=str(SHOTS / f"hmi_800x480_question_{k}.png"))
    page.context.close()
