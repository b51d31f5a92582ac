// The speaker view's clock: the time since the talk started (kept in the browser's local storage per
// talk, so a reloaded speaker view keeps counting) and the time of day; "Restart" sets it to 0:00.

function pad(n) { return String(n).padStart(2, "0"); }

function format(ms) {
  const s = Math.max(0, Math.floor(ms / 1000));
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60);
  return (h ? h + ":" + pad(m) : String(m)) + ":" + pad(s % 60);
}

export default function (component) {
  const { json: data } = unpack(component.data);
  const root = component.parentElement.querySelector(".vae-talk-clock");
  const key = "vae-talk-start-" + (data.talk || "none");
  let start = Number(localStorage.getItem(key));
  if (!start) { start = Date.now(); localStorage.setItem(key, String(start)); }
  const elapsed = root.querySelector(".elapsed"), now = root.querySelector(".now");
  const tick = () => {
    elapsed.textContent = format(Date.now() - start);
    const d = new Date();
    now.textContent = pad(d.getHours()) + ":" + pad(d.getMinutes());
  };
  root.querySelector("button").onclick = () => { start = Date.now(); localStorage.setItem(key, String(start)); tick(); };
  tick();
  const timer = setInterval(tick, 1000);
  return () => clearInterval(timer);
}
