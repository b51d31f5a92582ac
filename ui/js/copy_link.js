// "Copy link": the page's address (with its query parameters: model, page, view) to the clipboard.
// Where the clipboard is not allowed (plain http on another host, a refused permission), the link
// is shown in a text box, selected, for Ctrl+C.

export default function (component) {
  const { parentElement } = component;
  const { json: data } = unpack(component.data);
  const root = parentElement.querySelector(".vae-copy-link");
  const button = root.querySelector("button");
  const box = root.querySelector("input");
  const note = root.querySelector(".note");
  button.textContent = data.label || "Copy link to this view";
  const showBox = (url, text) => {
    box.value = url;
    box.hidden = false;
    box.focus();
    box.select();
    note.textContent = text;
  };
  button.onclick = async () => {
    const url = window.location.href;
    try {
      if (!navigator.clipboard || !window.isSecureContext) throw new Error("no clipboard");
      await navigator.clipboard.writeText(url);
      box.value = url;
      box.hidden = true;
      note.textContent = "Link copied.";
      root.dataset.copied = url;
    } catch (e) {
      showBox(url, "Copy this link (Ctrl+C):");
    }
  };
}
