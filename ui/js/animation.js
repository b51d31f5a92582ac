// An animation that can be paused (WCAG 2.2.2): the frames of a GIF as PNGs, shown one after another
// forward then back, with Pause / Play and the frame's number. It starts on its own unless the reader asks
// for reduced motion (prefers-reduced-motion: reduce), then it waits on its first frame for Play. A rerun
// that sends the same frames keeps whether it plays.

export default function (component) {
  const { json: data, parts } = unpack(component.data);
  const root = component.parentElement.querySelector(".vae-anim");
  const img = root.querySelector("img"), toggle = root.querySelector("button.toggle");
  const counter = root.querySelector(".frame"), caption = root.querySelector("figcaption");
  const state = root.__state || (root.__state = {});
  if (state.timer) { clearInterval(state.timer); state.timer = null; }
  const reduce = window.matchMedia("(prefers-reduced-motion: reduce)").matches;
  if (state.key !== data.key) {  // new frames: each PNG part becomes an image address, the old ones are let go
    (state.urls || []).forEach((u) => URL.revokeObjectURL(u));
    state.urls = Array.from({ length: data.frames || 0 },
                            (_, k) => URL.createObjectURL(new Blob([parts[`frame${k}`]], { type: "image/png" })));
    state.key = data.key; state.playing = !reduce; state.step = 0;
  }
  const frames = state.urls;
  // forward then back, as the GIF plays: 0 1 ... n-1 n-2 ... 1
  const order = frames.map((_, k) => k).concat(frames.length > 2 ? frames.map((_, k) => k).slice(1, -1).reverse() : []);
  img.alt = data.alt || "";
  img.style.width = data.width ? data.width + "px" : "";
  caption.textContent = data.caption || "";
  caption.hidden = !data.caption;
  const show = () => {
    const k = order[state.step % order.length];
    if (img.getAttribute("src") !== frames[k]) img.setAttribute("src", frames[k]);
    counter.textContent = `frame ${k + 1} of ${frames.length}`;
    root.dataset.frame = String(k);
  };
  const run = () => {
    if (state.timer) clearInterval(state.timer);
    state.timer = state.playing && order.length > 1
      ? setInterval(() => { state.step = (state.step + 1) % order.length; show(); }, 1000 / (data.fps || 8))
      : null;
    toggle.textContent = state.playing ? "Pause" : "Play";
    toggle.setAttribute("aria-label", (state.playing ? "Pause " : "Play ") + (data.name || "the animation"));
    root.dataset.playing = state.playing ? "1" : "0";
  };
  toggle.onclick = () => { state.playing = !state.playing; run(); };
  if (!frames.length) return;
  show();
  run();
  return () => { if (state.timer) clearInterval(state.timer); state.timer = null; };
}
