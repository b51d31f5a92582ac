// A VQ-VAE's image as its grid of code indices: the decoded image, and over it one button per position of the
// encoder's map, labelled with the code there. A click (or Enter / Space on a focused cell) sends the cell as
// state "click" = {row, col, n}, n a new token per click so that the same cell twice is two changes; the server
// changes that code and sends the redrawn image. Cells whose code differs from the image's own are outlined
// and marked with a dot (not colour alone). Arrow keys move between cells.

export default function (component) {
  const { parentElement, setStateValue } = component;
  const { json: data } = unpack(component.data);
  const root = parentElement.querySelector(".vae-codes");
  const frame = root.querySelector(".frame");
  const img = frame.querySelector("img");
  const cells = frame.querySelector(".cells");
  const state = root.__state || (root.__state = { clicks: 0 });
  const [rows, cols] = data.grid;
  root.classList.toggle("hall", !!data.hall);
  root.classList.toggle("still", !!data.still);
  frame.style.setProperty("--size", `${data.size || 420}px`);
  frame.style.setProperty("--rows", rows);
  frame.style.setProperty("--cols", cols);
  img.src = data.image;
  img.alt = data.alt || "the image decoded from this grid of codes";

  const label = (r, c, code, changed) =>
    `row ${r + 1}, column ${c + 1}: code ${code}${changed ? " (changed)" : ""}` +
    (data.still ? "" : `. ${data.action || "Click to change it"}`);

  if (cells.children.length !== rows * cols || state.still !== !!data.still) {
    cells.replaceChildren();
    state.still = !!data.still;
    for (let r = 0; r < rows; r++) {
      for (let c = 0; c < cols; c++) {
        const cell = document.createElement(data.still ? "span" : "button");
        if (!data.still) cell.type = "button";
        cell.className = "cell";
        cell.dataset.row = r;
        cell.dataset.col = c;
        cells.appendChild(cell);
      }
    }
  }
  const send = (cell) => {
    state.clicks += 1;  // the cells stay the same elements across redraws, so the keyboard's focus stays
    setStateValue("click", { row: Number(cell.dataset.row), col: Number(cell.dataset.col), n: `${Date.now()}-${state.clicks}` });
  };
  const at = (r, c) => cells.children[r * cols + c];
  for (const cell of cells.children) {
    const r = Number(cell.dataset.row), c = Number(cell.dataset.col);
    const code = data.codes[r * cols + c];
    const changed = !!(data.changed && data.changed[r * cols + c]);
    cell.textContent = String(code);
    cell.classList.toggle("changed", changed);
    cell.setAttribute("aria-label", label(r, c, code, changed));
    cell.title = label(r, c, code, changed);
    if (data.still) continue;
    cell.onclick = () => send(cell);
    cell.onkeydown = (ev) => {
      const moves = { ArrowUp: [-1, 0], ArrowDown: [1, 0], ArrowLeft: [0, -1], ArrowRight: [0, 1] };
      const m = moves[ev.key];
      if (!m) return;
      ev.preventDefault();
      const next = at(Math.min(Math.max(r + m[0], 0), rows - 1), Math.min(Math.max(c + m[1], 0), cols - 1));
      if (next) next.focus();
    };
  }
}
