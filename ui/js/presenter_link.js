// Presenter mode's link between the projected window and the speaker view, in both windows:
// - the scene shortcuts: PageDown / ArrowRight / "n" = next scene, PageUp / ArrowLeft / "p" = previous
//   (what presentation clickers send). Keys typed into a text field, or pressed on a focused slider,
//   select, radio or tab, stay with that element;
// - both windows follow each other: each window posts the scene it shows on a BroadcastChannel (same
//   browser, same origin: no server round trip), and a window that hears of a newer step moves there;
// - the "Speaker view" button opens the speaker view in a window of its own.

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

// One state per window, kept across Streamlit's page switches (the document stays).
// Each key press is an event {id, dir} in the component's "nav" state (the last few, with a token per
// page load): a state value is never lost when a press comes in while the script is still running,
// and Python applies each event id once. A step heard from the other window is a "goto" {scene, stamp}.
function windowState() {
  if (!window.__vaePresenterKeys) {
    window.__vaePresenterKeys = {
      mounts: 0, presses: 0, events: [], token: Math.random().toString(36).slice(2),
      lastStamp: 0, shown: null, awaited: null,
    };
  }
  return window.__vaePresenterKeys;
}

function openChannel(state, talk) {
  if (state.channel && state.talk === talk) return;
  if (state.channel) state.channel.close();
  state.talk = talk;
  state.channel = null;
  if (!talk || typeof BroadcastChannel === "undefined") return;
  state.channel = new BroadcastChannel("vae-talk-" + talk);
  state.channel.onmessage = (msg) => {
    const m = msg.data || {};
    if (typeof m.scene !== "number" || typeof m.stamp !== "number" || m.stamp <= state.lastStamp) return;
    state.lastStamp = m.stamp;
    if (m.scene === state.shown) return;
    state.awaited = m.scene; // shown because the other window asked: not posted back
    state.send("goto", { scene: m.scene, stamp: m.stamp, token: state.token });
  };
}

export default function (component) {
  const { parentElement, setStateValue } = component;
  const { json: data } = unpack(component.data);
  const state = windowState();
  state.send = setStateValue;
  state.mounts += 1;

  openChannel(state, data.talk || null);
  if (typeof data.scene === "number" && data.scene !== state.shown) {
    const asked = state.awaited === data.scene;
    state.shown = data.scene;
    state.awaited = null;
    if (!asked && state.channel) {
      const stamp = Math.max(Date.now(), state.lastStamp + 1);
      state.lastStamp = stamp;
      state.channel.postMessage({ scene: data.scene, stamp });
    }
  }

  const button = parentElement.querySelector("button.speaker");
  if (button) {
    button.hidden = !data.speaker_url;
    button.onclick = () => {
      const w = window.open(data.speaker_url, "vae-speaker-view", "popup,width=1200,height=800");
      if (w) w.focus();
    };
  }

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
