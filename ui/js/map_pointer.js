// Decode under the pointer: moving the mouse over the latent map decodes that point of the latent
// plane here, in the browser, and draws it on this component's canvas.

export default function (component) {
  const { parentElement, setStateValue } = component;
  const { json: data, parts } = unpack(component.data);
  if (!data.sha) return;
  const model = modelFrom(data, parts, setStateValue);
  if (!model) return;
  const root = parentElement.querySelector(".vae-pointer");
  const canvas = root.querySelector("canvas");
  const readout = root.querySelector(".readout");
  root.classList.toggle("presenter", !!data.presenter);  // large type for the back of a hall
  sizeCanvas(canvas, model.spec, data.size);
  const z = Float32Array.from(data.base);
  const [dx, dy] = data.dims;
  const render = (x, y) => {
    z[dx] = x;
    if (dy !== null && dy !== undefined) z[dy] = y;
    const t0 = performance.now();
    draw(canvas, model.spec, decode(model, z, data.label | 0));
    STATS.push(performance.now() - t0);
    const [nx, ny] = data.names || [`z${dx + 1}`, `z${dy + 1}`];  // by level for a model with several
    readout.textContent = `${nx} = ${x.toFixed(2)}` + (dy !== null && dy !== undefined ? `, ${ny} = ${y.toFixed(2)}` : "");
    canvas.setAttribute("aria-label", `the image decoded at ${readout.textContent}`);
  };
  render(z[dx], dy !== null && dy !== undefined ? z[dy] : 0);
  hideStill();

  // The latent map (ui/js/map/tools.js) sends the map coordinates under the mouse as a window event.
  const state = (window.__vaeMapPointer = window.__vaeMapPointer || { gen: 0 });
  const gen = ++state.gen;
  if (state.listener) window.removeEventListener("vae-map-pointer", state.listener);
  state.listener = (ev) => {
    if (state.gen !== gen || !ev.detail || ev.detail.key !== data.chart_key) return;
    render(ev.detail.x, ev.detail.y);
  };
  window.addEventListener("vae-map-pointer", state.listener);
  // a rerun draws this panel anew (at its z): when the map has the keyboard's focus, its cursor is what it shows
  const map = (window.__vaeMaps || {})[data.chart_key];
  if (map && map.cursor && map.root && map.root.classList.contains("keyboard")) render(map.cursor[0], map.cursor[1]);
  return () => {};
}

// The page shows the server's image of the same z until this component draws (ui/live_decoder.py):
// from now on, hide it.
function hideStill() {
  if (!document.getElementById("vae-pointer-still-style")) {
    const style = document.createElement("style");
    style.id = "vae-pointer-still-style";
    style.textContent = 'body.vae-pointer-live [data-testid="stElementContainer"]:has(.vae-pointer-still) { display: none; }';
    document.head.appendChild(style);
  }
  document.body.classList.add("vae-pointer-live");
}
