// A component's data (ui/component_data.py): a JSON header and named binary parts in one Uint8Array.
// unpack(data) -> { json, parts }: each part a typed array (Float32Array, Uint16Array, Uint8Array), a
// view of the data itself where it is aligned for its type, else a copy; a deflated part is a Promise of
// its typed array (inflated by the browser's DecompressionStream). Parts are shared with Streamlit's copy
// of the message: read them, never write into them.

const PART_TYPES = { float32: Float32Array, uint16: Uint16Array, uint8: Uint8Array };
const PART_ALIGN = 8;

async function inflate(bytes) {
  const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("deflate"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

function viewPart(raw, start, length, Type) {
  const at = raw.byteOffset + start;
  if (at % Type.BYTES_PER_ELEMENT === 0) return new Type(raw.buffer, at, length / Type.BYTES_PER_ELEMENT);
  return new Type(raw.slice(start, start + length).buffer);  // one copy: the part is not aligned for its type
}

function unpack(raw) {
  if (raw === null || raw === undefined) return { json: {}, parts: {} };
  if (!(raw instanceof Uint8Array)) {
    throw new TypeError("a component's data must be the bytes of ui/component_data.py's component_data");
  }
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const nText = view.getUint32(0, true);
  const outer = JSON.parse(new TextDecoder().decode(raw.subarray(4, 4 + nText)));
  const base = 4 + nText + ((PART_ALIGN - ((4 + nText) % PART_ALIGN)) % PART_ALIGN);
  const parts = {};
  for (const p of outer.parts) {
    const Type = PART_TYPES[p.dtype];
    const start = base + p.offset;
    parts[p.name] = p.deflate
      ? inflate(raw.subarray(start, start + p.length)).then((bytes) => new Type(bytes.buffer, 0, bytes.byteLength / Type.BYTES_PER_ELEMENT))
      : viewPart(raw, start, p.length, Type);
  }
  return { json: outer.json, parts };
}
