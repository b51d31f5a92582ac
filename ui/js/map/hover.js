// The latent map's hover preview: the hovered image, cut from the sheet of every image of the map
// (window.__vaeMapImages: key -> Promise of the pixels, filled by ui/js/map_images.js), with its class.

const IMAGE_CACHE = (window.__vaeMapImages = window.__vaeMapImages || new Map());  // key -> Promise<Uint8Array>
const TIP_SIDE = 112;  // px: the hover preview's longer side

Object.assign(LatentMap.prototype, {
  // json.images = {key, h, w, c}: which sheet, and one image's shape
  images(json) {
    const im = json.images;
    if (!this.onImages) {  // images that arrive while a dot is hovered show at once
      this.onImages = (ev) => { if (this.hovered >= 0 && ev.detail.key === this.imageKey) this.showTip(this.hovered); };
      window.addEventListener("vae-map-images", this.onImages);
    }
    if (!im) { this.imageKey = null; return; }
    this.imageKey = im.key;
    this.imageShape = [im.h, im.w, im.c];
  },

  showTip(i) {
    const d = this.d;
    const cls = d.classes[this.labels[i]];
    this.tipText.textContent = `${cls ? cls.name : this.labels[i]} · image #${i}`;
    this.tipCanvas.dataset.index = String(i);
    const key = this.imageKey;
    const pending = key && IMAGE_CACHE.get(key);
    this.tipCanvas.style.display = "none";
    this.tip.style.display = "block";
    if (this.lastMouse) this.placeTip(this.lastMouse);
    if (!pending) return;
    pending.then((pixels) => {
      if (this.hovered !== i || this.imageKey !== key) return;
      const [h, w, c] = this.imageShape;
      const scale = Math.max(1, Math.floor(TIP_SIDE / Math.max(h, w)));
      const small = document.createElement("canvas");
      small.width = w; small.height = h;
      const ctx = small.getContext("2d");
      const img = ctx.createImageData(w, h);
      const off = i * h * w * c;
      for (let p = 0; p < h * w; p++) {
        const v = pixels.subarray(off + p * c, off + p * c + c);
        img.data[4 * p] = v[0]; img.data[4 * p + 1] = c === 3 ? v[1] : v[0];
        img.data[4 * p + 2] = c === 3 ? v[2] : v[0]; img.data[4 * p + 3] = 255;
      }
      ctx.putImageData(img, 0, 0);
      const t = this.tipCanvas;
      t.width = w * scale; t.height = h * scale;
      t.style.width = `${w * scale}px`; t.style.height = `${h * scale}px`;
      const tc = t.getContext("2d");
      tc.imageSmoothingEnabled = false;
      tc.drawImage(small, 0, 0, w * scale, h * scale);
      t.style.display = "block";
    });
  },

  placeTip(ev) {
    const w = this.tip.offsetWidth || TIP_SIDE + 10, h = this.tip.offsetHeight || TIP_SIDE + 30;
    this.tip.style.left = `${Math.round(Math.min(ev.clientX + 18, window.innerWidth - w - 8))}px`;
    this.tip.style.top = `${Math.round(Math.min(ev.clientY + 18, window.innerHeight - h - 8))}px`;
  },
});
