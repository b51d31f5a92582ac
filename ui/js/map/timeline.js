// The latent map's training replay ("watch it learn"): the training's snapshots (json.timeline,
// parts.frames: T x n x 2); the points move to where the encoder placed them at each snapshot, with a
// play button, a scrubber and the loss curve with the snapshot marked. Play never starts by itself and Pause
// holds the snapshot; for a reader who asks for reduced motion (prefers-reduced-motion) a snapshot stays
// REDUCED_MS on screen instead of PLAY_MS.

const PLAY_MS = 450, REDUCED_MS = 1600;
// the loss curve's terms: dark inks told apart by their dashes too, not by colour alone
const CURVE_INKS = [["#111", ""], ["#1f5fa8", "6 3"], ["#a3261b", "2 3"]];

Object.assign(LatentMap.prototype, {
  // The training's snapshots (json.timeline, parts.frames: T x n x 2): the points move to where the encoder
  // placed them at each snapshot; a play button, a scrubber and the loss curve with the snapshot marked.
  setTimeline(json, parts) {
    const t = json.timeline;
    if (!t || !parts.frames) {
      this.stopPlay();
      this.framesData = null;
      if (this.timelineEl) { this.timelineEl.remove(); this.timelineEl = null; }
      return;
    }
    const T = t.step.length;
    if (!(this.framesData && sameArray(parts.frames, this.framesData))) {
      this.stopPlay();
      this.framesData = parts.frames;
      this.frameIndex = T - 1;
    }
    parts.xy = this.frameXY(this.frameIndex);  // what is drawn: the snapshot on screen (the last at first)
    if (!this.timelineEl) this.buildTimeline();
    this.scrub.max = String(T - 1);
    this.showFrame();
  },

  frameXY(k) {
    const n2 = 2 * this.d.n;
    return this.framesData.subarray(k * n2, (k + 1) * n2);
  },

  buildTimeline() {
    const el = this.timelineEl = createEl("div", "timeline", this.mainCol);
    const row = createEl("div", "row", el);
    this.playButton = createEl("button", "tool play", row);
    this.playButton.type = "button";
    this.playButton.addEventListener("click", () => (this.playing ? this.stopPlay() : this.play()));
    this.scrub = createEl("input", "scrub", row);
    Object.assign(this.scrub, { type: "range", min: "0", step: "1" });
    this.scrub.setAttribute("aria-label", "training snapshot");
    this.scrub.addEventListener("input", () => { this.stopPlay(); this.setFrame(Number(this.scrub.value)); });
    this.frameLabel = createEl("div", "frame-label", row);
    this.curve = createEl("svg", "curve", el, true);
    this.curve.addEventListener("pointerdown", (ev) => {
      this.stopPlay();
      const r = this.curve.getBoundingClientRect();
      this.setFrame(this.nearestFrame((ev.clientX - r.left) / Math.max(1, r.width)));
    });
  },

  play() {
    const T = this.d.timeline.step.length;
    if (this.frameIndex >= T - 1) this.setFrame(0);
    const still = window.matchMedia("(prefers-reduced-motion: reduce)").matches;
    this.playing = setInterval(() => {
      if (!this.root.isConnected || !this.framesData) { this.stopPlay(); return; }
      if (this.frameIndex >= this.d.timeline.step.length - 1) { this.stopPlay(); return; }
      this.setFrame(this.frameIndex + 1);
    }, still ? REDUCED_MS : PLAY_MS);
    this.root.dataset.playMs = String(still ? REDUCED_MS : PLAY_MS);
    this.showFrame();
  },

  stopPlay() {
    if (this.playing) clearInterval(this.playing);
    this.playing = null;
    if (this.playButton) this.showFrame();
  },

  setFrame(k) {
    if (!this.framesData || !this.gl) return;
    const T = this.d.timeline.step.length;
    this.frameIndex = Math.max(0, Math.min(T - 1, Math.round(k)));
    this.xy = this.frameXY(this.frameIndex);
    this.pushPoints();
    if (this.selected.length) this.gl.setSelected(this.selected);
    this.density = null;
    this.describe();
    this.drawLines();
    this.drawOverlay();
    this.showFrame();
  },

  // the x of a snapshot on the loss curve: log-spaced steps, evenly spaced on a log axis
  curveX(k) {
    const steps = this.d.timeline.step, last = Math.log1p(steps[steps.length - 1]) || 1;
    return Math.log1p(steps[k]) / last;
  },

  nearestFrame(fx) {
    let best = 0;
    this.d.timeline.step.forEach((_, k) => { if (Math.abs(this.curveX(k) - fx) < Math.abs(this.curveX(best) - fx)) best = k; });
    return best;
  },

  showFrame() {
    const t = this.d && this.d.timeline;
    if (!t || !this.timelineEl) return;
    const k = this.frameIndex, T = t.step.length;
    this.playButton.innerHTML = this.playing ? '<span aria-hidden="true">❚❚</span> Pause'
      : '<span aria-hidden="true">▶</span> Play';
    this.playButton.setAttribute("aria-pressed", this.playing ? "true" : "false");
    this.playButton.title = "Replay the training: the map at each snapshot";
    this.scrub.setAttribute("aria-valuetext", `snapshot ${k + 1} of ${T}, step ${t.step[k].toLocaleString("en")}`);
    this.scrub.value = String(k);
    const c = t.curves, names = Object.keys(c);
    this.frameLabel.textContent = `step ${t.step[k].toLocaleString("en")} · epoch ${t.epoch[k] < 10 ? t.epoch[k].toFixed(2) : t.epoch[k].toFixed(0)}`;
    this.frameLabel.title = `snapshot ${k + 1} of ${T}`;
    this.root.dataset.frame = String(k);
    // the loss curve: every term over the snapshots, the current one marked
    const w = Math.max(140, (parseFloat(this.timelineEl.style.width) || 300) - 14);
    const h = Math.round(this.fontPx() * 3.5);
    const svg = this.curve;
    svg.setAttribute("width", w); svg.setAttribute("height", h);
    svg.innerHTML = "";
    const values = names.flatMap((name) => c[name]).filter((v) => Number.isFinite(v));
    const lo = Math.min(0, ...values), hi = Math.max(...values, lo + 1);
    const pad = 4, X = (k2) => pad + this.curveX(k2) * (w - 2 * pad), Y = (v) => h - pad - ((v - lo) / (hi - lo)) * (h - 2 * pad);
    names.forEach((name, j) => {
      const path = createEl("path", "term", svg, true);
      path.setAttribute("d", c[name].map((v, k2) => `${k2 ? "L" : "M"}${X(k2).toFixed(1)} ${Y(v).toFixed(1)}`).join(""));
      const [ink, dash] = CURVE_INKS[j % CURVE_INKS.length];
      path.style.stroke = ink;
      if (dash) path.style.strokeDasharray = dash;
    });
    const cursor = createEl("line", "cursor", svg, true);
    Object.entries({ x1: X(k), x2: X(k), y1: 0, y2: h }).forEach(([a, v]) => cursor.setAttribute(a, v));
    const short = { reconstruction: "recon" };
    const sample = (j) => {  // a short line in the term's ink and dashes, before its name
      const [ink, dash] = CURVE_INKS[j % CURVE_INKS.length];
      return `<svg width="18" height="8" aria-hidden="true"><line x1="0" y1="4" x2="18" y2="4" stroke="${ink}" `
        + `stroke-width="2"${dash ? ` stroke-dasharray="${dash}"` : ""}/></svg>`;
    };
    const legend = names.map((name, j) => `<span>${sample(j)} ${short[name] || name} ${c[name][k].toFixed(1)}</span>`);
    if (!this.curveLegend) this.curveLegend = createEl("div", "curve-legend", this.timelineEl);
    this.curveLegend.innerHTML = legend.join(" · ") + " nats";
  },
});
