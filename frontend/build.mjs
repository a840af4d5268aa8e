// Bundles src/index.ts into the plugin's static folder as one ES module plus
// one stylesheet (our CSS and uPlot's). TensorBoard's iframe CSP allows only
// same-origin scripts, so everything, uPlot included, ships in the bundle.
//
// The bundle is committed (tb_prune_plugin/static/), so that `pip install .` needs
// no Node.js. Beside it, SOURCE_HASH holds the SHA-256 of the sources it was built
// from (the same digest setup.py computes): setup.py rebuilds only when it differs,
// and CI rebuilds and fails when the committed bundle is not what the sources give.
import * as esbuild from "esbuild";
import { createHash } from "node:crypto";
import { readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";

const frontend = new URL(".", import.meta.url).pathname;
const outdir = new URL("../tb_prune_plugin/static/", import.meta.url).pathname;

// Must match setup.py's frontend_source_hash(): these inputs, sorted by their
// path relative to frontend/ (with "/"), each hashed as path NUL bytes NUL.
const INPUTS = ["build.mjs", "package.json", "package-lock.json", "tsconfig.json", "src"];

function files(path) {
  if (!statSync(path).isDirectory()) return [path];
  return readdirSync(path).flatMap((name) => files(join(path, name)));
}

export function sourceHash() {
  const paths = INPUTS.flatMap((p) => files(join(frontend, p)))
    .map((p) => relative(frontend, p).split("\\").join("/"))
    .sort();
  const hash = createHash("sha256");
  for (const p of paths) {
    hash.update(p + "\0");
    hash.update(readFileSync(join(frontend, p)));
    hash.update("\0");
  }
  return hash.digest("hex");
}

await esbuild.build({
  entryPoints: { index: "src/index.ts" },
  absWorkingDir: frontend,
  bundle: true,
  format: "esm",
  target: "es2020",
  minify: true,
  sourcemap: false,
  outdir,
  logLevel: "warning",
});
writeFileSync(outdir + "SOURCE_HASH", sourceHash() + "\n");

for (const name of ["index.js", "index.css"]) {
  const bytes = statSync(outdir + name).size;
  console.log(`${name}: ${(bytes / 1024).toFixed(1)} KiB`);
}
