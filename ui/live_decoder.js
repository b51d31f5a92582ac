// Live latent sliders: the VAE's decoder p(x|z) runs here, in the browser, on every input event.
// The decoder arrives once per model (base64 float32 weights + a list of operations); afterwards
// each rerun sends only the small state. The program format is vae_core/decoder_program.py's.

const CACHE = (window.__vaeDecoders = window.__vaeDecoders || new Map()); // sha -> {spec, w}
const STATS = (window.__vaeLiveStats = window.__vaeLiveStats || []); // ms per decode + draw
window.__vaeWeightsReceived = window.__vaeWeightsReceived || 0; // how often weights arrived (once per model)

function b64ToFloat32(b64) {
  const bin = atob(b64);
  const bytes = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
  return new Float32Array(bytes.buffer);
}

function linear(op, w, x) {
  const nIn = op.in, nOut = op.out, y = new Float32Array(nOut);
  for (let o = 0; o < nOut; o++) {
    let acc = w[op.b + o];
    const row = op.w + o * nIn;
    for (let i = 0; i < nIn; i++) acc += w[row + i] * x[i];
    y[o] = acc;
  }
  return y;
}

function convTranspose(op, w, x) {
  // x: (cin, hin, win); weight: (cin, cout, k, k); out: (cout, hout, wout)
  const { cin, cout, k, s, p, hin, win, hout, wout } = op;
  const y = new Float32Array(cout * hout * wout);
  for (let co = 0; co < cout; co++) {
    const bias = w[op.b + co];
    for (let oy = 0; oy < hout; oy++) {
      for (let ox = 0; ox < wout; ox++) {
        let acc = bias;
        for (let ky = (oy + p) % s; ky < k; ky += s) {
          const iy = (oy + p - ky) / s;
          if (iy < 0 || iy >= hin) continue;
          for (let kx = (ox + p) % s; kx < k; kx += s) {
            const ix = (ox + p - kx) / s;
            if (ix < 0 || ix >= win) continue;
            let xi = iy * win + ix;
            let wi = op.w + (co * k + ky) * k + kx;
            const xStride = hin * win, wStride = cout * k * k;
            for (let ci = 0; ci < cin; ci++) {
              acc += x[xi] * w[wi];
              xi += xStride;
              wi += wStride;
            }
          }
        }
        y[(co * hout + oy) * wout + ox] = acc;
      }
    }
  }
  return y;
}

function decode(model, z, label) {
  const { spec, w } = model;
  let x = new Float32Array(spec.latent_dim + spec.num_classes);
  for (let i = 0; i < spec.latent_dim; i++) x[i] = z[i];
  if (spec.num_classes) x[spec.latent_dim + (label | 0)] = 1;
  for (const op of spec.ops) {
    if (op.op === "linear") x = linear(op, w, x);
    else if (op.op === "relu") { for (let i = 0; i < x.length; i++) if (x[i] < 0) x[i] = 0; }
    else if (op.op === "convT") x = convTranspose(op, w, x);
    else if (op.op === "sigmoid") { for (let i = 0; i < x.length; i++) x[i] = 1 / (1 + Math.exp(-x[i])); }
    // "reshape" changes nothing in a flat buffer
  }
  return x; // (C, H, W) floats in [0, 1]
}

// For tests and benchmarks: decode with a cached model by its hash.
window.__vaeDecode = (sha, z, label) => Array.from(decode(CACHE.get(sha), z, label));

function draw(canvas, spec, pixels) {
  const [c, h, wd] = spec.image_shape;
  const ctx = canvas.getContext("2d");
  const img = ctx.createImageData(wd, h);
  const n = h * wd;
  for (let i = 0; i < n; i++) {
    const r = pixels[i], g = c === 3 ? pixels[n + i] : r, b = c === 3 ? pixels[2 * n + i] : r;
    img.data[4 * i] = Math.round(r * 255);
    img.data[4 * i + 1] = Math.round(g * 255);
    img.data[4 * i + 2] = Math.round(b * 255);
    img.data[4 * i + 3] = 255;
  }
  ctx.putImageData(img, 0, 0);
}

function gaussian() {
  let u = 0, v = 0;
  while (u === 0) u = Math.random();
  while (v === 0) v = Math.random();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

export default function (component) {
  const { data, parentElement, setStateValue } = component;
  if (!data || !data.sha) return;
  if (!CACHE.has(data.sha)) {
    if (!data.weights) { setStateValue("loaded", ""); return; }
    CACHE.set(data.sha, { spec: data.spec, w: b64ToFloat32(data.weights) });
    window.__vaeWeightsReceived += 1;
  }
  const model = CACHE.get(data.sha);
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
  const [, h, wd] = model.spec.image_shape;
  const canvas = root.querySelector("canvas");
  if (canvas.width !== wd || canvas.height !== h) { canvas.width = wd; canvas.height = h; }
  canvas.style.width = `${data.size}px`;
  canvas.style.height = `${Math.round((data.size * h) / wd)}px`;
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
  if (!data.weights_loaded_ack) setStateValue("loaded", data.sha);
}
