// The VAE's decoder p(x|z) in the browser: the operations of vae_core/model/decoder_program.py run on
// Float32Arrays. Shared by the live components (their JavaScript is ui/js/component_data.js, this file,
// then theirs).
// A model's weights arrive once (the data's float32 part "weights": ui/component_data.py) and stay in
// window.__vaeDecoders by hash.

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

// Transposed convolution on channel-last (H, W, C) buffers, as a scatter: each non-zero input
// (zeros are common after a ReLU) adds its k x k footprint to every output channel at once, with
// the weights re-laid out as (cin, k, k, cout) so the innermost loop runs over contiguous memory.
function prepareConv(op, w) {
  const { cin, cout, k } = op;
  const t = new Float32Array(cin * cout * k * k);
  for (let ci = 0; ci < cin; ci++)
    for (let co = 0; co < cout; co++)
      for (let ky = 0; ky < k; ky++)
        for (let kx = 0; kx < k; kx++)
          t[((ci * k + ky) * k + kx) * cout + co] = w[op.w + ((ci * cout + co) * k + ky) * k + kx];
  return t;
}

function convTranspose(op, w, wt, x) {
  const { cin, cout, k, s, p, hin, win, hout, wout } = op;
  const y = new Float32Array(hout * wout * cout);
  for (let i = 0; i < hout * wout; i++) for (let co = 0; co < cout; co++) y[i * cout + co] = w[op.b + co];
  for (let iy = 0; iy < hin; iy++) {
    const oy0 = iy * s - p, kyLo = Math.max(0, -oy0), kyHi = Math.min(k, hout - oy0);
    for (let ix = 0; ix < win; ix++) {
      const ox0 = ix * s - p, kxLo = Math.max(0, -ox0), kxHi = Math.min(k, wout - ox0);
      const xb = (iy * win + ix) * cin;
      for (let ci = 0; ci < cin; ci++) {
        const v = x[xb + ci];
        if (v === 0) continue;
        for (let ky = kyLo; ky < kyHi; ky++) {
          for (let kx = kxLo; kx < kxHi; kx++) {
            const ob = ((oy0 + ky) * wout + ox0 + kx) * cout, wb = ((ci * k + ky) * k + kx) * cout;
            if ((cout & 3) === 0) {
              for (let co = 0; co < cout; co += 4) { // unrolled: about 1.5x faster in V8
                y[ob + co] += v * wt[wb + co];
                y[ob + co + 1] += v * wt[wb + co + 1];
                y[ob + co + 2] += v * wt[wb + co + 2];
                y[ob + co + 3] += v * wt[wb + co + 3];
              }
            } else {
              for (let co = 0; co < cout; co++) y[ob + co] += v * wt[wb + co];
            }
          }
        }
      }
    }
  }
  return y;
}

function withOneHot(x, classes, label) {
  const y = new Float32Array(x.length + classes);
  y.set(x);
  y[x.length + label] = 1;
  return y;
}

function channelsLast(x, c, h, w) {
  const y = new Float32Array(x.length), n = h * w;
  for (let ci = 0; ci < c; ci++) for (let i = 0; i < n; i++) y[i * c + ci] = x[ci * n + i];
  return y;
}

function channelsFirst(x, c, h, w) {
  const y = new Float32Array(x.length), n = h * w;
  for (let ci = 0; ci < c; ci++) for (let i = 0; i < n; i++) y[ci * n + i] = x[i * c + ci];
  return y;
}

function loadModel(spec, w) {
  return { spec, w, convWeights: spec.ops.map((op) => (op.op === "convT" ? prepareConv(op, w) : null)) };
}

// One operation after the other, whatever the model: the program (vae_core/model/decoder_program.py) says which.
function decode(model, z, label) {
  const { spec, w, convWeights } = model;
  let channelLast = false;
  let x = Float32Array.from(z.slice(0, spec.latent_dim));
  spec.ops.forEach((op, j) => {
    if (op.op === "label") x = withOneHot(x, op.classes, label | 0);
    else if (op.op === "linear") x = linear(op, w, x);
    else if (op.op === "relu") { for (let i = 0; i < x.length; i++) if (x[i] < 0) x[i] = 0; }
    else if (op.op === "reshape") { x = channelsLast(x, ...op.shape); channelLast = true; }
    else if (op.op === "convT") x = convTranspose(op, w, convWeights[j], x);
    else if (op.op === "sigmoid") { for (let i = 0; i < x.length; i++) x[i] = 1 / (1 + Math.exp(-x[i])); }
    else throw new Error(`the decoder program has an operation this page cannot run: ${op.op}`);
  });
  const [c, h, wd] = spec.image_shape;
  return channelLast && c > 1 ? channelsFirst(x, c, h, wd) : x; // (C, H, W) floats in [0, 1]
}

// For tests and benchmarks: load a program, decode with a cached model by its hash.
window.__vaeLoadProgram = (spec, b64) => { CACHE.set(spec.sha256, loadModel(spec, b64ToFloat32(b64))); return spec.sha256; };
window.__vaeDecode = (sha, z, label) => Array.from(decode(CACHE.get(sha), z, label));
window.__vaeDecodeMany = (sha, zs, label) => zs.map((z) => Array.from(decode(CACHE.get(sha), z, label)));

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

// The weights, shared by the components: cache the model the data carries, or ask for it (state
// "loaded" = "") when this window does not hold it; returns the model or null. The server sends a
// model's weights once per session; after an ask it learns that they arrived ("loaded" = hash).
function modelFrom(data, parts, setStateValue) {
  if (!CACHE.has(data.sha)) {
    if (!parts.weights) { setStateValue("loaded", ""); return null; }
    CACHE.set(data.sha, loadModel(data.spec, parts.weights));
    window.__vaeWeightsReceived += 1;
    if (data.asked) setStateValue("loaded", data.sha);
  }
  return CACHE.get(data.sha);
}

function sizeCanvas(canvas, spec, size) {
  const [, h, wd] = spec.image_shape;
  if (canvas.width !== wd || canvas.height !== h) { canvas.width = wd; canvas.height = h; }
  canvas.style.width = `${size}px`;
  canvas.style.height = `${Math.round((size * h) / wd)}px`;
}

