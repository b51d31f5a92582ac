// The latent map component's entry: one LatentMap per element, given its data after every run.

export default function (component) {
  const { parentElement, setStateValue } = component;
  const { json, parts } = unpack(component.data);
  if (!json.key) return;
  const root = parentElement.querySelector(".vae-map");
  if (!root) return;
  const map = root.__vaeMap || (root.__vaeMap = new LatentMap(root, setStateValue));
  map.setStateValue = setStateValue;
  map.update(json, parts);
  if (!root.__vaeWatch) {  // the page above the map settles after it (controls, images): keep it on screen
    const relayout = () => { if (root.isConnected && root.__vaeMap && root.__vaeMap.gl) root.__vaeMap.layout(); };
    root.__vaeWatch = setInterval(() => {
      if (!root.isConnected) { clearInterval(root.__vaeWatch); root.__vaeWatch = null; if (root.__vaeMap) root.__vaeMap.destroy(); root.__vaeMap = null; return; }
      relayout();
    }, 400);
    window.addEventListener("resize", relayout);
  }
  return () => {};
}
