// What a phone or a tablet must not show (tests/test_layout_browser.py): called with no argument in the page,
// returns a list of problems, each a line of text. Components' shadow roots are entered.
// - wider than the screen: a visible element that reaches past the viewport's left or right edge;
// - spilled: an element drawn outside the element it belongs to (Streamlit's element container), so that it
//   covers its neighbour or is cut off by the column (a canvas over the next column's heading);
// - truncated: text cut short ("Live: dec…"): an element with text whose scrollWidth exceeds its clientWidth;
// - small target: something to press smaller than 24 x 24 CSS pixels (WCAG 2.5.8; a visually hidden input is
//   measured by what is seen: its label, or the slider's thumb).
// Elements inside a region that scrolls sideways on purpose (a table, a row of tabs, a formula) are measured
// against that region, not the screen.
() => {
  const W = window.innerWidth;
  const out = [];
  const all = [];
  const walk = (root) => {
    for (const el of root.querySelectorAll("*")) {
      all.push(el);
      if (el.shadowRoot) walk(el.shadowRoot);
    }
  };
  walk(document);
  const parentOf = (el) => el.parentElement || (el.getRootNode && el.getRootNode().host) || null;
  const sidebar = document.querySelector("[data-testid=stSidebar]");
  const sidebarOpen = !!sidebar && sidebar.getBoundingClientRect().right > 1;
  // read by a screen reader only (KaTeX's MathML, a visually hidden input): clipped to nothing on screen
  const srOnly = (e) => {
    const cs = getComputedStyle(e);
    return (cs.clip && cs.clip !== "auto") || (cs.clipPath && cs.clipPath.includes("inset(50%)"));
  };
  const shown = (el) => {
    const r = el.getBoundingClientRect();
    if (r.width < 1 || r.height < 1 || r.right <= 0 || r.bottom <= -5000) return false;
    if (!sidebarOpen && sidebar && sidebar.contains(el)) return false;
    if (el.closest && el.closest("details:not([open]) > :not(summary)")) return false;  // folded away
    for (let e = el; e; e = parentOf(e)) {
      const cs = getComputedStyle(e);
      if (cs.display === "none" || cs.visibility === "hidden" || cs.opacity === "0" || srOnly(e)) return false;
    }
    return true;
  };
  const hiddenInput = (el) => {
    for (let e = el, k = 0; e && k < 3; e = parentOf(e), k++) if (srOnly(e)) return true;
    return false;
  };
  const name = (el) => {
    const id = el.getAttribute("data-testid") || el.getAttribute("aria-label") || "";
    const cls = (el.getAttribute("class") || "").split(" ").filter((c) => c && !c.startsWith("st-emotion")).slice(0, 2).join(".");
    const text = (el.innerText || el.textContent || "").trim().replace(/\s+/g, " ").slice(0, 40);
    return `<${el.tagName.toLowerCase()}${cls ? "." + cls : ""}${id ? " " + id : ""}> "${text}"`;
  };
  // the nearest ancestor that scrolls sideways on purpose and says so: a table, code, a row of tabs, a region a
  // keyboard can scroll (a formula too wide for a phone); a row of buttons that hides some of them is not one
  const scroller = (el) => {
    for (let e = parentOf(el); e && e !== document.body; e = parentOf(e)) {
      if (!e.getAttribute) continue;
      if (["stDataFrame", "stTable", "stCode"].includes(e.getAttribute("data-testid"))) return e;
      if (e.getAttribute("role") === "tablist" || (e.getAttribute("role") === "region" && e.hasAttribute("tabindex"))) return e;
    }
    return null;
  };
  const container = (el) => {
    for (let e = parentOf(el); e; e = parentOf(e)) {
      if (e.getAttribute && e.getAttribute("data-testid") === "stElementContainer") return e;
    }
    return null;
  };
  const fixedOrTip = (el) => {
    for (let e = el; e; e = parentOf(e)) {
      const cs = getComputedStyle(e);
      if (cs.position === "fixed" || (e.getAttribute && (e.getAttribute("role") === "tooltip" ||
          e.getAttribute("data-baseweb") === "popover" || e.getAttribute("data-testid") === "stSkipToContent"))) return true;
    }
    return false;
  };
  // what of an element is seen: its box cut by every ancestor that clips (overflow other than visible; an svg),
  // up to its element container
  const clipped = (el, stop) => {
    const r = el.getBoundingClientRect();
    let left = r.left, right = r.right;
    for (let e = parentOf(el); e && e !== stop && e !== document.body; e = parentOf(e)) {
      const cs = getComputedStyle(e);
      if (cs.overflowX !== "visible") {
        const b = e.getBoundingClientRect();
        left = Math.max(left, b.left); right = Math.min(right, b.right);
      }
    }
    return { left, right };
  };
  const span = (a, b) => `${a.toFixed(0)}..${b.toFixed(0)}`;
  for (const el of all) {
    if (!(el instanceof Element) || !shown(el) || fixedOrTip(el)) continue;
    // in a chart (SVG), its words: groups, bars and lines are clipped to the plot on purpose
    if (el instanceof SVGElement && !["text", "svg"].includes(el.tagName)) continue;
    const r = el.getBoundingClientRect();
    const s = scroller(el);
    if (s) continue;  // measured against the region that scrolls, which is itself measured
    const c = container(el);
    const seen = clipped(el, c);
    if (seen.right - seen.left < 1) continue;  // clipped away entirely
    const text = (el.textContent || "").trim();
    // a drawing surface larger than its window on purpose is marked so (data-overscan: the latent map's points)
    if (el.closest("[data-overscan]")) continue;
    if ((r.left < seen.left - 2 || r.right > seen.right + 2) && (text || ["CANVAS", "IMG"].includes(el.tagName))) {
      out.push(`cut off: ${name(el)} spans ${span(r.left, r.right)}, seen ${span(seen.left, seen.right)}`);
    }
    if (seen.right > W + 1 || seen.left < -1) out.push(`wider than the screen: ${name(el)} spans ${span(seen.left, seen.right)} of ${W}`);
    if (c) {
      const cr = c.getBoundingClientRect();
      if (seen.right > cr.right + 2 || seen.left < cr.left - 2) {
        out.push(`spilled: ${name(el)} spans ${span(seen.left, seen.right)}, its place ${span(cr.left, cr.right)}`);
      }
    }
    const ownText = [...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim());
    if (ownText && el.scrollWidth > el.clientWidth + 1 && el.clientWidth > 0 && !s) {
      const cs = getComputedStyle(el);
      if (cs.overflowX !== "visible" || cs.textOverflow === "ellipsis") out.push(`truncated: ${name(el)} shows ${el.clientWidth} of ${el.scrollWidth} px`);
    }
  }
  // targets
  const TARGETS = "a[href], button, select, summary, [role=button], [role=tab], [role=link], [role=option], "
    + "input:not([type=hidden]), textarea, [tabindex]:not([tabindex='-1'])";
  for (const el of all) {
    if (!(el instanceof Element) || !el.matches(TARGETS) || el.disabled) continue;
    if (el.getAttribute("data-testid") === "stSkipToContent") continue;  // 1 px until focused, then a full bar
    let t = el;
    if (hiddenInput(el)) {  // visually hidden: what is seen is its label, or a slider's thumb
      t = el.type === "range" ? el.closest("[data-testid=stSlider] [style*=translate]") : el.closest("label");
      if (!t) continue;
    }
    if (!shown(t) || fixedOrTip(t)) continue;
    const r = t.getBoundingClientRect();
    // a link inside a sentence is exempt (WCAG 2.5.8's inline exception)
    if (el.tagName === "A" && el.closest("p, li") && !el.closest("[data-testid=stSidebarNav]")) continue;
    if (r.width < 24 - 0.5 || r.height < 24 - 0.5) out.push(`small target: ${name(t)} is ${r.width.toFixed(1)} x ${r.height.toFixed(1)} px`);
  }
  return [...new Set(out)];
}
