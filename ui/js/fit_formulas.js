// Formulas that fit a phone (WCAG 1.4.10): a displayed formula wider than its column is drawn smaller, down to
// MIN_SCALE of its size; one that still does not fit scrolls sideways within itself, and can then take focus so
// the keyboard scrolls it too (WCAG 2.1.1). Checked again whenever the column's width changes.

const MIN_SCALE = 0.7;

function fitFormula(box) {
  const width = box.clientWidth;
  if (!width || box.dataset.fitWidth === String(width)) return;
  box.dataset.fitWidth = String(width);
  const katex = box.querySelector(":scope > .katex");
  if (!katex) return;
  katex.style.fontSize = "";
  const natural = box.scrollWidth;
  const scale = natural > width ? Math.max(MIN_SCALE, (width - 2) / natural) : 1;
  katex.style.fontSize = scale < 1 ? `${(1.21 * scale).toFixed(3)}em` : "";
  const scrolls = box.scrollWidth > box.clientWidth + 1;
  box.style.overflowX = scrolls ? "auto" : "";
  box.style.minHeight = scrolls ? "28px" : "";  // a region that takes focus is a target: 24 px at least (2.5.8)
  if (scrolls) {
    box.setAttribute("tabindex", "0");
    box.setAttribute("role", "region");
    box.setAttribute("aria-label", "formula, scrolls sideways");
  } else if (box.getAttribute("role") === "region") {
    ["tabindex", "role", "aria-label"].forEach((a) => box.removeAttribute(a));
  }
  box.dataset.fitScale = scale.toFixed(3);
}

function fitFormulas() {
  if (window.__vaeFitFormulas) return;
  window.__vaeFitFormulas = setInterval(() => document.querySelectorAll(".katex-display").forEach(fitFormula), 300);
}
