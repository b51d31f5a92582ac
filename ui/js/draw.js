// Draw a digit: thick white strokes on a black canvas, with the mouse, a pen or a finger.
// When a stroke ends, the drawing goes to Python as a PNG data URL (state "image"); "Clear" sends null.

export default function (component) {
  const { parentElement, setStateValue } = component;
  const { json: data } = unpack(component.data);
  const root = parentElement.querySelector(".vae-draw");
  const canvas = root.querySelector("canvas");
  const clear = root.querySelector("button.clear");
  const ctx = canvas.getContext("2d");
  const size = data.size || 280;
  const brush = data.brush || 22;
  if (canvas.width !== size) {
    canvas.width = canvas.height = size;
  }
  canvas.style.width = canvas.style.height = (data.display || size) + "px";
  root.classList.toggle("hall", !!data.hall);
  const state = root.__state || (root.__state = { drawing: false, strokes: 0, last: null });
  state.brush = brush * size / 280;

  const blank = () => {
    ctx.fillStyle = "#000";
    ctx.fillRect(0, 0, canvas.width, canvas.height);
  };
  if (!state.ready) {
    blank();
    state.ready = true;
    // A drawing kept by the page (after a visit to another page) is painted back.
    if (data.restore) {
      const img = new Image();
      img.onload = () => ctx.drawImage(img, 0, 0, canvas.width, canvas.height);
      img.src = data.restore;
    }
  }

  const at = (ev) => {
    const r = canvas.getBoundingClientRect();
    return [(ev.clientX - r.left) * canvas.width / r.width, (ev.clientY - r.top) * canvas.height / r.height];
  };
  const dot = ([x, y]) => {
    ctx.fillStyle = "#fff";
    ctx.beginPath();
    ctx.arc(x, y, state.brush / 2, 0, 2 * Math.PI);
    ctx.fill();
  };
  const line = (a, b) => {
    ctx.strokeStyle = "#fff";
    ctx.lineWidth = state.brush;
    ctx.lineCap = "round";
    ctx.lineJoin = "round";
    ctx.beginPath();
    ctx.moveTo(a[0], a[1]);
    ctx.lineTo(b[0], b[1]);
    ctx.stroke();
  };
  const send = () => setStateValue("image", canvas.toDataURL("image/png"));

  canvas.onpointerdown = (ev) => {
    ev.preventDefault();
    canvas.setPointerCapture(ev.pointerId);
    state.drawing = true;
    state.last = at(ev);
    dot(state.last);
  };
  canvas.onpointermove = (ev) => {
    if (!state.drawing) return;
    const p = at(ev);
    line(state.last, p);
    state.last = p;
  };
  const end = (ev) => {
    if (!state.drawing) return;
    state.drawing = false;
    state.strokes += 1;
    root.dataset.strokes = String(state.strokes);
    send();
  };
  canvas.onpointerup = end;
  canvas.onpointercancel = end;
  clear.onclick = () => {
    blank();
    state.strokes = 0;
    root.dataset.strokes = "0";
    setStateValue("image", null);
  };
}
