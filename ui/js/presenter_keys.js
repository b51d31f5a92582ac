// Presenter shortcuts: PageDown / ArrowRight / "n" = next scene, PageUp / ArrowLeft / "p" = previous.
// Presentation clickers send PageDown and PageUp. Keys typed into a text field, or pressed on a
// focused slider, select, radio or tab, stay with that element.

const NEXT = new Set(["PageDown", "ArrowRight", "n", "N"]);
const PREV = new Set(["PageUp", "ArrowLeft", "p", "P"]);
const KEEP_ROLES = new Set(["slider", "spinbutton", "textbox", "combobox", "listbox", "option", "radio",
                            "tab", "menuitem", "gridcell", "searchbox"]);

function keepsKeys(path) {
  for (const el of path) {
    if (!el || el.nodeType !== 1) continue;
    const tag = el.tagName;
    if (tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || el.isContentEditable) return true;
    const role = el.getAttribute && el.getAttribute("role");
    if (role && KEEP_ROLES.has(role)) return true;
    if (el.classList && el.classList.contains("js-plotly-plot")) return false;
  }
  return false;
}

// Each press is an event {id, dir} in the component's "nav" state (the last few, with a token per page
// load): a state value is never lost when a press comes in while the page's script is still running,
// and Python applies each event id once.

export default function ({ setStateValue }) {
  const state = window.__vaePresenterKeys || (window.__vaePresenterKeys = {
    mounts: 0, presses: 0, events: [], token: Math.random().toString(36).slice(2) });
  state.send = setStateValue;
  state.mounts += 1;
  if (!state.listener) {
    state.listener = (ev) => {
      if (ev.defaultPrevented || ev.altKey || ev.ctrlKey || ev.metaKey || ev.repeat) return;
      const dir = NEXT.has(ev.key) ? "next" : PREV.has(ev.key) ? "prev" : null;
      if (!dir) return;
      const path = ev.composedPath ? ev.composedPath() : [ev.target];
      if (keepsKeys(path)) return;
      ev.preventDefault();
      state.presses += 1;
      state.events = state.events.concat([{ id: state.presses, dir }]).slice(-10);
      state.send("nav", { token: state.token, events: state.events });
    };
    window.addEventListener("keydown", state.listener);
  }
  return () => {
    state.mounts -= 1;
    if (state.mounts <= 0 && state.listener) {
      window.removeEventListener("keydown", state.listener);
      state.listener = null;
    }
  };
}
