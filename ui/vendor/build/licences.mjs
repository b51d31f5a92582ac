// Prints the name, version and licence text of every npm package in the bundle, for
// ui/vendor/map_libs.LICENSES.txt: the packages esbuild read (from its metafile) and, transitively,
// their dependencies (regl-scatterplot's dist file already holds some of its dependencies' code).
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";

const meta = JSON.parse(readFileSync(process.argv[2], "utf8"));
const found = new Set();
const visit = (name) => {
  if (found.has(name)) return;
  found.add(name);
  const pkg = JSON.parse(readFileSync(join("node_modules", name, "package.json"), "utf8"));
  Object.keys(pkg.dependencies || {}).forEach(visit);
};
for (const input of Object.keys(meta.inputs)) {
  const m = input.match(/node_modules\/((?:@[^/]+\/)?[^/]+)\//);
  if (m) visit(m[1]);
}
const out = ["Third-party code in map_libs.js (bundled by build.sh from the npm registry). Licence comments",
             "inside the packages' own files are kept at the end of map_libs.js.", ""];
for (const name of [...found].sort()) {
  const dir = join("node_modules", name);
  const pkg = JSON.parse(readFileSync(join(dir, "package.json"), "utf8"));
  const file = readdirSync(dir).find((f) => /^(licen[sc]e|copying)(\.|$)/i.test(f));
  if (!file) throw new Error(`${name} ships no licence file: check its licence before bundling it`);
  out.push("=".repeat(78), `${name} ${pkg.version} (${pkg.license})`, "=".repeat(78),
           readFileSync(join(dir, file), "utf8").trim(), "");
}
process.stdout.write(out.join("\n") + "\n");
