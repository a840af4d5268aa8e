// Bundles src/index.ts into the plugin's static folder as one ES module plus
// one stylesheet (our CSS and uPlot's). TensorBoard's iframe CSP allows only
// same-origin scripts, so everything, uPlot included, ships in the bundle.
import * as esbuild from "esbuild";
import { statSync } from "node:fs";

const outdir = new URL("../tb_prune_plugin/static/", import.meta.url).pathname;

await esbuild.build({
  entryPoints: { index: "src/index.ts" },
  bundle: true,
  format: "esm",
  target: "es2020",
  minify: true,
  sourcemap: false,
  outdir,
  logLevel: "warning",
});

for (const name of ["index.js", "index.css"]) {
  const bytes = statSync(outdir + name).size;
  console.log(`${name}: ${(bytes / 1024).toFixed(1)} KiB`);
}
