"""The browser side of the chat page: the embed class for ``/?embed=1``, citation taps that open the
source (an overlay on HMI panels), and keeping the top of a long answer in view."""

JS_ON_LOAD = """
() => {
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
    // HMI panel: an answer taller than the chat shows its top (Gradio scrolls to the bottom ~300 ms later)
    window.__opassistTop = true;
    let seen = null;
    new MutationObserver(() => {
      const rows = document.querySelectorAll('#chat .message-row.bot-row');
      const m = rows[rows.length - 1];
      if (!m || m === seen || !m.querySelector('.chips, .abstain')) return;
      seen = m;
      setTimeout(() => {
        const wrap = document.querySelector('#chat .bubble-wrap');
        if (!wrap) return;
        const over = wrap.getBoundingClientRect().top - m.getBoundingClientRect().top;
        if (over > 0) wrap.scrollTop -= over + 4;
      }, 700);
    }).observe(document.body, {childList: true, subtree: true});
  }
}
"""
