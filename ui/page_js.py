"""The browser side of the chat page: the embed class for ``/?embed=1``, citation taps that open the
source (an overlay on HMI panels), keeping the top of a long answer in view, and "try again".

Try again: the page remembers the last question sent. A failed answer carries a ``#retry`` link
(ui/render.py); an answer whose stream broke (its app replica died, the network dropped) still shows
its "writing" line when Gradio reports the error, and that line becomes "connection lost" with the
link. Gradio then reloads the page once it reaches a server again (behind the plant proxy: a live
replica, in a new session), so the question is also kept in sessionStorage and offered again above
the question box after the reload. Nothing is asked again without the operator's tap."""

import json

from .i18n import LANGS, t

_TEXTS = json.dumps(
    {code: {"lost": t("connection_lost", code), "again": t("try_again", code)} for code in LANGS}
)

JS_ON_LOAD = """
() => {
  if (!window.__opassistRetry) {
    window.__opassistRetry = true;
    const TEXTS = __TEXTS__;
    const KEY = 'opassist-retry';  // survives Gradio's own reload after it reconnects to a live replica
    const box = () => document.querySelector('#question textarea, #question input');
    const banner = () => document.getElementById('retry-banner');
    const remember = () => {
      const b = box();
      if (!b || !b.value.trim()) return;
      window.__opassistLast = b.value;
      sessionStorage.removeItem(KEY);
      if (banner()) banner().remove();
    };
    document.addEventListener('click', (e) => { if (e.target.closest('#send')) remember(); }, true);
    document.addEventListener('keydown', (e) => {
      if (e.key === 'Enter' && !e.shiftKey && e.target.closest('#question')) remember();
    }, true);
    document.addEventListener('click', (e) => {
      const a = e.target.closest('a[href="#retry"]');
      if (!a) return;
      e.preventDefault();
      e.stopPropagation();
      const b = box();
      if (!b || !window.__opassistLast) return;
      b.value = window.__opassistLast;
      b.dispatchEvent(new Event('input', {bubbles: true}));
      setTimeout(() => document.querySelector('#send').click(), 150);
    }, true);
    const note = (code, question) => {
      const tx = TEXTS[code] || TEXTS.en;
      const n = document.createElement('div');
      n.className = 'note lost';
      n.setAttribute('role', 'alert');
      n.textContent = tx.lost + ' ' + (question ? '“' + question + '” ' : '');
      const a = document.createElement('a');
      a.className = 'retry';
      a.href = '#retry';
      a.textContent = '↻ ' + tx.again;
      n.appendChild(a);
      return n;
    };
    const cutOff = () => {  // the stream broke: its "writing" line becomes a note with "try again"
      const rows = document.querySelectorAll('#chat .message-row.bot-row');
      const w = rows.length ? rows[rows.length - 1].querySelector('.writing') : null;
      if (!w) return;
      const code = ([...w.classList].find((c) => c.startsWith('lang-')) || 'lang-en').slice(5);
      w.replaceWith(note(code, ''));
      if (window.__opassistLast)
        sessionStorage.setItem(KEY, JSON.stringify({q: window.__opassistLast, lang: code}));
    };
    new MutationObserver((muts) => {
      for (const m of muts) for (const n of m.addedNodes)
        if (n.nodeType === 1 && (n.matches('.toast-body.error') || n.querySelector('.toast-body.error'))) cutOff();
    }).observe(document.body, {childList: true, subtree: true});
    // after the reload: the question whose answer broke, above the question box, one tap to ask again
    let saved = null;
    try { saved = JSON.parse(sessionStorage.getItem(KEY) || 'null'); } catch (e) { saved = null; }
    if (saved && saved.q) {
      window.__opassistLast = saved.q;
      const show = (tries) => {
        const row = document.getElementById('ask-row');
        if (!row) { if (tries > 0) setTimeout(() => show(tries - 1), 200); return; }
        const n = note(saved.lang, saved.q);
        n.id = 'retry-banner';
        row.parentNode.insertBefore(n, row);
      };
      show(50);
    }
  }
  const p = new URLSearchParams(window.location.search);
  if (p.get('embed') && p.get('embed') !== '0') document.body.classList.add('embed');
  if (!window.__opassistCite) {
    window.__opassistCite = true;
    document.addEventListener('click', (e) => {
      if (e.target.closest('#close-sources')) {  // the HMI's source overlay: back to the chat
        document.body.classList.remove('show-sources');
        return;
      }
      const a = e.target.closest('a[href^="#cite-"]');
      if (!a) return;
      e.preventDefault();
      e.stopPropagation();
      const box = document.querySelector('#cite-select textarea, #cite-select input');
      if (!box) return;
      box.value = a.getAttribute('href').slice(6) + '@' + Date.now();
      box.dispatchEvent(new Event('input', {bubbles: true}));
      if (document.body.classList.contains('embed')) document.body.classList.add('show-sources');
    }, true);
    document.addEventListener('keydown', (e) => {
      if (e.key === 'Escape') document.body.classList.remove('show-sources');
    });
  }
  if (document.body.classList.contains('embed') && !window.__opassistTop) {
    // HMI panel: the newest answer is always in view. While it is written and once it is complete,
    // the chat scrolls so that it is seen whole, or, when taller than the chat, from its first line
    // (Gradio's own scrolling stops once the operator has scrolled, e.g. to an earlier answer's top).
    window.__opassistTop = true;
    let timer = null;
    let shownText = null;
    const reveal = () => {
      timer = null;
      const rows = document.querySelectorAll('#chat .message-row.bot-row');
      const m = rows[rows.length - 1];
      const wrap = document.querySelector('#chat .bubble-wrap');
      if (!m || !wrap) return;
      const key = rows.length + ':' + m.textContent.length;
      if (key === shownText) return;  // nothing new in the newest answer: the operator may scroll freely
      shownText = key;
      const w = wrap.getBoundingClientRect();
      const r = m.getBoundingClientRect();
      const delta = r.height <= w.height - 8 ? r.bottom - w.bottom + 4 : r.top - w.top - 4;
      if (Math.abs(delta) > 1) wrap.scrollTop += delta;
    };
    new MutationObserver(() => {
      if (timer === null) timer = setTimeout(reveal, 120);
      // Gradio scrolls the chat ~300 ms after an update: look again once it has
      setTimeout(() => { shownText = null; reveal(); }, 700);
    }).observe(document.querySelector('#chat') || document.body, {childList: true, subtree: true, characterData: true});
  }
}
""".replace("__TEXTS__", _TEXTS)
