// Focus is never lost after an action (WCAG 2.4.3, 2.4.7). When the element that had focus is gone or hidden
// after the rerun its action caused (the presenter toggle is a new widget for each state of the mode, and
// presenter mode hides the sidebar), focus moves on: to the same widget if it is drawn again, else to where
// data.moves sends it (the control that undoes the action: presenter mode's Exit, and back), else to the
// page's main heading. Focus the reader moved on purpose (a click on the page, Tab) is never taken back.

function keyOf(el) {
  for (let e = el; e && e !== document.body; e = e.parentElement || (e.getRootNode && e.getRootNode().host)) {
    const k = [...(e.classList || [])].find((c) => c.startsWith("st-key-"));
    if (k) return k.slice(7);
  }
  return null;
}

function visible(el) {
  return !!el && el.isConnected && el.getClientRects().length > 0 && getComputedStyle(el).visibility !== "hidden";
}

const FOCUSABLE = 'input:not([type=hidden]):not([disabled]), button:not([disabled]), select, textarea, a[href], '
  + '[tabindex]:not([tabindex="-1"])';

// what matches inside root, the components' shadow roots included (the latent map's focusable square is in one)
function deepAll(root, selector) {
  const found = [...root.querySelectorAll(selector)];
  for (const el of root.querySelectorAll("*")) if (el.shadowRoot) found.push(...deepAll(el.shadowRoot, selector));
  return found;
}

function focusableIn(key) {
  if (!key) return null;
  for (const box of document.querySelectorAll(`.st-key-${CSS.escape(key)}`)) {
    for (const el of [box, ...deepAll(box, FOCUSABLE)]) if (el.matches && el.matches(FOCUSABLE) && visible(el)) return el;
  }
  return null;
}

function heading() {
  const h = document.querySelector('[data-testid="stMain"] h1') || document.querySelector('[data-testid="stMain"]');
  if (!h) return null;
  if (!h.hasAttribute("tabindex")) h.setAttribute("tabindex", "-1");
  return h;
}

function keepFocus(moves) {
  if (window.__vaeFocusKeeper) { window.__vaeFocusKeeper.moves = moves; return; }
  const state = { el: null, key: null, lostAt: 0, moves: {} };
  document.addEventListener("focusin", (ev) => {
    const el = ev.composedPath()[0];
    if (el === document.body) return;
    state.el = el; state.key = keyOf(el); state.lostAt = 0;
  }, true);
  setInterval(() => {
    const active = document.activeElement;
    if (!state.el || (active && active !== document.body && visible(active))) return;
    if (visible(state.el) && state.el === active) return;
    if (visible(state.el)) return;  // focus left on purpose (a click elsewhere): the element is still there
    if (!state.lostAt) state.lostAt = performance.now();
    const waited = performance.now() - state.lostAt;
    const target = focusableIn(state.key) || focusableIn(state.moves[state.key]) || (waited > 1500 ? heading() : null);
    if (target) {
      target.focus();
      document.documentElement.dataset.focusRestored = keyOf(target) || target.tagName.toLowerCase();
    } else if (waited > 10000) {
      state.el = null;
    }
  }, 200);
  state.moves = moves;
  window.__vaeFocusKeeper = state;
}
