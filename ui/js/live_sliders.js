// Live latent sliders: each input event decodes and redraws here, and moves everything else that shows
// z with it: the readout (||z||, log p(z), the vector) and the ring on the position map. z goes back
// to Python when a thumb is released, with the version of the values it started from: a value sent
// for an older version (before "use its mu", a link or a scene set z on the server) is not taken.

const LOG_2PI = Math.log(2 * Math.PI);

function gaussian() {
  let u = 0, v = 0;
  while (u === 0) u = Math.random();
  while (v === 0) v = Math.random();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

// log p(z) of an equal-weight mixture of diagonal Gaussians {mu: (K, D), logvar: (K, D)} (N(0, I): K = 1).
function logPrior(prior, z) {
  const logs = prior.mu.map((m, k) => {
    let acc = 0;
    for (let i = 0; i < z.length; i++) {
      const lv = prior.logvar[k][i], d = z[i] - m[i];
      acc += LOG_2PI + lv + d * d * Math.exp(-lv);
    }
    return -0.5 * acc;
  });
  const top = Math.max(...logs);
  return top + Math.log(logs.reduce((s, v) => s + Math.exp(v - top), 0)) - Math.log(logs.length);
}

function readoutText(latent, prior) {
  let ss = 0;
  for (const v of latent) ss += v * v;
  let text = "||z|| = " + Math.sqrt(ss).toFixed(2);
  if (prior) {
    text += " (prior samples: about " + prior.typical.toFixed(2) + ") · log p(z) = "
      + logPrior(prior, latent).toFixed(2);
  }
  return text;
}

// Where a latent point is on the position map's picture, as fractions, held to the plot's frame (a point
// beyond it sits on its edge, marked "outside"); null when not finite.
function fraction(map, x, y) {
  const [left, top, pw, ph] = map.box, [xmin, xmax, ymin, ymax] = map.extent;
  const px = left + (x - xmin) / (xmax - xmin) * pw, py = top + (ymax - y) / (ymax - ymin) * ph;
  if (!Number.isFinite(px) || !Number.isFinite(py)) return null;
  const cx = Math.min(left + pw, Math.max(left, px)), cy = Math.min(top + ph, Math.max(top, py));
  const at = [cx / map.width, cy / map.height];
  at.outside = cx !== px || cy !== py;
  return at;
}

function place(el, at) {
  el.hidden = !at;
  el.classList.toggle("outside", !!(at && at.outside));
  el.title = at && at.outside ? "z is beyond the map's frame in this direction" : "";
  if (at) { el.style.left = (at[0] * 100).toFixed(3) + "%"; el.style.top = (at[1] * 100).toFixed(3) + "%"; }
}

function drawPositionMap(figure, map) {
  figure.hidden = !map;
  if (!map) return;
  const img = figure.querySelector("img");
  if (img.getAttribute("src") !== map.url) img.setAttribute("src", map.url);
  img.alt = map.alt || "latent map";
  img.style.maxWidth = map.width + "px";
  figure.querySelector("figcaption").textContent = map.caption || "";
  const frame = figure.querySelector(".frame");
  frame.querySelectorAll(".vae-star").forEach((s) => s.remove());
  for (const at of map.stars || []) { // saved points inside the frame (Python leaves the others out)
    const star = document.createElement("span");
    star.className = "vae-star";
    star.textContent = "★";
    place(star, at);
    frame.append(star);
  }
}

export default function (component) {
  const { parentElement, setStateValue } = component;
  const { json: data, parts } = unpack(component.data);
  if (!data.sha) return;
  const model = modelFrom(data, parts, setStateValue);
  if (!model) return;
  const root = parentElement.querySelector(".vae-live");
  root.classList.toggle("hall", !!data.hall);
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
  const numbers = root.querySelector(".readout .numbers"), vector = root.querySelector(".readout .vector");
  const figure = root.querySelector("figure.posmap"), ring = figure.querySelector(".vae-ring");
  drawPositionMap(figure, data.posmap);

  const redraw = () => {
    const t0 = performance.now();
    for (let i = 0; i < state.z.length; i++) state.latent[i] = state.offset[i] + state.scale[i] * state.z[i];
    draw(canvas, model.spec, decode(model, state.latent, state.label));
    STATS.push(performance.now() - t0);
    if (STATS.length > 5000) STATS.splice(0, STATS.length - 5000);
    numbers.textContent = readoutText(state.latent, data.prior);
    vector.textContent = "z = [" + Array.from(state.latent, (v) => v.toFixed(3)).join(", ") + "]";
    const shown = Array.from(state.latent.slice(0, 6), (v) => v.toFixed(2)).join(", ");
    canvas.setAttribute("aria-label", `the image ${data.model_name || "the model"} decodes at z = (${shown}`
      + (state.latent.length > 6 ? `, ... ${state.latent.length} dimensions)` : ")"));
    if (data.posmap) {
      const [dx, dy] = data.posmap.dims;
      place(ring, fraction(data.posmap, state.latent[dx], state.latent[dy]));
    }
  };
  const send = () => setStateValue("z", { values: Array.from(state.z, (v) => Math.round(v * 1e4) / 1e4),
                                          version: state.version });
  let debounce = null;
  const sendSoon = () => { clearTimeout(debounce); debounce = setTimeout(send, 150); };

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
  // Play sweeps one dimension back and forth until Stop; for a reader who asks for reduced motion
  // (prefers-reduced-motion) in nine still steps, 0.8 s apart, instead of a smooth sweep at 30 frames a second.
  const labelPlay = (playing) => {
    play.innerHTML = playing ? '<span aria-hidden="true">■</span> Stop' : '<span aria-hidden="true">▶</span> Play';
    play.setAttribute("aria-pressed", playing ? "true" : "false");
  };
  play.onclick = () => {
    if (state.timer) { clearInterval(state.timer); state.timer = null; labelPlay(false); send(); return; }
    const d = Number(playDim.value);
    const still = window.matchMedia("(prefers-reduced-motion: reduce)").matches;
    let t = 0;
    labelPlay(true);
    state.timer = setInterval(() => {
      t += still ? Math.PI / 8 : 0.04;
      state.z[d] = range * Math.sin(t);
      syncInputs(); redraw();
    }, still ? 800 : 33);
    root.dataset.playStep = still ? "still" : "smooth";
  };
  if (!state.timer) labelPlay(false);
  if (!fresh) syncInputs();
  redraw();
}
