// The latent map's hover images (ui/scatter_map.py): every image of the map's points on one deflated uint8
// sheet (part "images"), sent right after the map's points, once per session. They are kept in this window
// by key (window.__vaeMapImages: key -> Promise of the pixels), where the map's hover preview
// (ui/js/map/hover.js) finds them; a "vae-map-images" window event says they are ready.
// A window that lacks the images of its key asks for them (state "need" = {key, n}): this component is in
// a fragment of its own, so the ask reruns that fragment, never the page.

const MAP_IMAGES = (window.__vaeMapImages = window.__vaeMapImages || new Map());  // key -> Promise<Uint8Array>

export default function (component) {
  const { json, parts } = unpack(component.data);
  if (!json.key) return;
  const key = json.key;
  if (parts.images) {
    const pixels = parts.images;
    MAP_IMAGES.set(key, pixels);
    pixels.then(
      () => window.dispatchEvent(new CustomEvent("vae-map-images", { detail: { key } })),
      () => { if (MAP_IMAGES.get(key) === pixels) MAP_IMAGES.delete(key); });  // not inflated: ask again next time
    return;
  }
  if (!MAP_IMAGES.has(key)) {
    window.__vaeMapImageAsks = (window.__vaeMapImageAsks || 0) + 1;  // each ask a new value, answered once
    component.setStateValue("need", { key, n: window.__vaeMapImageAsks });
  }
}
