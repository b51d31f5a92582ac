// Live latent sliders: each input event decodes and redraws here; z goes back to Python on release.

function gaussian() {
  let u = 0, v = 0;
  while (u === 0) u = Math.random();
  while (v === 0) v = Math.random();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

export default function (component) {
  const { parentElement, setStateValue } = component;
  const data = unpack(component.data);
  if (!data || !data.sha) return;
  const model = modelFrom(data, setStateValue);
  if (!model) return;
  const root = parentElement.querySelector(".vae-live");
  const state = (root.__state = root.__state || {});
  const fresh = state.sha !== data.sha || state.version !== data.version;
  if (fresh) {
    state.sha = data.sha;
    state.version = data.version;
    state.z = Float32Array.from(data.z); // slider units; the decoder sees offset + scale * z
    state.offset = Float32Array.from(data.offset || data.z.map(() => 0));
    state.scale = Float32Array.from(data.scale || data.z.map(() => 1));
    state.latent = new Float32Array(data.z.length);
    state.label = data.label | 0;
    if (state.timer) { clearInterval(state.timer); state.timer = null; }
  }
  const canvas = root.querySelector("canvas");
  sizeCanvas(canvas, model.spec, data.size);
  const range = data.range || 3;

  const redraw = () => {
    const t0 = performance.now();
    for (let i = 0; i < state.z.length; i++) state.latent[i] = state.offset[i] + state.scale[i] * state.z[i];
    draw(canvas, model.spec, decode(model, state.latent, state.label));
    STATS.push(performance.now() - t0);
    if (STATS.length > 5000) STATS.splice(0, STATS.length - 5000);
  };
  const send = () => setStateValue("z", Array.from(state.z, (v) => Math.round(v * 1e4) / 1e4));
  let debounce = null;
  const sendSoon = () => { clearTimeout(debounce); debounce = setTimeout(send, 250); };

  const list = root.querySelector(".sliders");
  if (fresh || list.childElementCount !== data.dims.length) {
    list.textContent = "";
    data.dims.forEach((d, row) => {
      const line = document.createElement("label");
      line.className = "row" + (data.inactive && data.inactive[row] ? " inactive" : "");
      const name = document.createElement("span");
      name.className = "name";
      name.textContent = data.names[row];
      const input = document.createElement("input");
      Object.assign(input, { type: "range", min: -range, max: range, step: data.step || 0.01 });
      input.value = state.z[d];
      input.dataset.dim = d;
      input.setAttribute("aria-label", data.names[row]);
      const value = document.createElement("span");
      value.className = "value";
      value.textContent = Number(state.z[d]).toFixed(2);
      input.addEventListener("input", () => {
        state.z[d] = Number(input.value);
        value.textContent = Number(input.value).toFixed(2);
        redraw();
      });
      input.addEventListener("change", sendSoon);
      line.append(name, input, value);
      list.append(line);
    });
  }
  const syncInputs = () => list.querySelectorAll("input").forEach((inp) => {
    const d = Number(inp.dataset.dim);
    inp.value = state.z[d];
    inp.nextSibling.textContent = Number(state.z[d]).toFixed(2);
  });

  root.querySelector(".reset").onclick = () => { state.z.fill(0); syncInputs(); redraw(); send(); };
  root.querySelector(".randomize").onclick = () => {
    for (const d of data.dims) state.z[d] = Math.max(-range, Math.min(range, gaussian()));
    syncInputs(); redraw(); send();
  };
  const play = root.querySelector(".play");
  const playDim = root.querySelector(".play-dim");
  if (fresh || playDim.childElementCount !== data.dims.length) {
    playDim.textContent = "";
    data.dims.forEach((d, row) => {
      const opt = document.createElement("option");
      opt.value = d; opt.textContent = data.names[row].split(" ")[0];
      playDim.append(opt);
    });
  }
  play.onclick = () => {
    if (state.timer) { clearInterval(state.timer); state.timer = null; play.textContent = "▶ Play"; send(); return; }
    const d = Number(playDim.value);
    let t = 0;
    play.textContent = "■ Stop";
    state.timer = setInterval(() => {
      t += 0.04;
      state.z[d] = range * Math.sin(t);
      syncInputs(); redraw();
    }, 33);
  };
  redraw();
}
