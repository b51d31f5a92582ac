// The class's layer, handed to the latent map in the same page (window.__vaeMaps[map_key], ui/js/map/):
// the points arrive here every half second from a small fragment (ui/classroom/layer.py), never with the
// map's 70k points. A click on a glyph comes back as the trigger "pick" ({id, t}). If the map is drawn
// again (a new instance), the layer is handed to it again.

export default function (component) {
  const { parentElement, setTriggerValue } = component;
  const { json } = unpack(component.data);
  const root = parentElement.querySelector(".vae-class-layer");
  if (!root) return;
  root.__layer = {
    points: json.shown ? json.points : [],
    picked: json.picked,
    onPick: (id) => setTriggerValue("pick", { id, t: Date.now() }),
  };
  root.textContent = json.caption || "";
  const apply = () => {
    const map = (window.__vaeMaps || {})[json.map_key];
    if (!map || !map.gl) return;
    if (root.__map !== map || root.__applied !== root.__layer) {
      map.setClassLayer(root.__layer);
      root.__map = map;
      root.__applied = root.__layer;
    }
  };
  apply();
  if (!root.__watch) {  // the map may arrive later, or be rebuilt: keep the layer on it
    root.__watch = setInterval(() => {
      if (!root.isConnected) { clearInterval(root.__watch); root.__watch = null; return; }
      apply();
    }, 100);
  }
}
