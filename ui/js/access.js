// Every page's helpers for accessibility, once per browser window: focus kept after an action
// (focus_keeper.js) and formulas that fit a phone (fit_formulas.js).
export default function (component) {
  const { json: data } = unpack(component.data);
  keepFocus(data.moves || {});
  fitFormulas();
}
