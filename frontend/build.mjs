// Bundles src/index.ts into the plugin's static folder as one ES module plus
// one stylesheet (our CSS and uPlot's). TensorBoard's iframe CSP allows only
// same-origin scripts, so everything, uPlot included, ships in the bundle.
//
// The bundle is committed (tb_prune_plugin/static/), so that `pip install .` needs
// no Node.js. Beside it, SOURCE_HASH holds the SHA-256 of the sources it was built
// from (the same digest setup.py computes): setup.py rebuilds only when it differs.
// The build is deterministic (same sources, same bytes, wherever the clone is).
//
//   node build.mjs           writes ../tb_prune_plugin/static/
//   node build.mjs --check   builds into a temporary folder and fails when the result
//                            differs from ../tb_prune_plugin/static/ (CI: tests/run.sh)
import * as esbuild from "esbuild";
import { createHash } from "node:crypto";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";

const frontend = new URL(".", import.meta.url).pathname;
const staticDir = new URL("../tb_prune_plugin/static/", import.meta.url).pathname;
const FIX = "cd frontend && npm ci && npm run build, then commit tb_prune_plugin/static/";

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

async function build(outdir) {
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
  writeFileSync(join(outdir, "SOURCE_HASH"), sourceHash() + "\n");
}

/** Names of the files that differ between two folders (missing on either side included). */
function differences(built, committed) {
  const list = (dir) => {
    try {
      return readdirSync(dir);
    } catch {
      return [];
    }
  };
  const names = new Set([...list(built), ...list(committed)]);
  return [...names].sort().filter((name) => {
    try {
      return !readFileSync(join(built, name)).equals(readFileSync(join(committed, name)));
    } catch {
      return true;
    }
  });
}

if (process.argv.includes("--check")) {
  const fresh = mkdtempSync(join(tmpdir(), "tb-prune-bundle-"));
  try {
    await build(fresh);
    const stale = differences(fresh, staticDir);
    if (stale.length > 0) {
      console.error(
        `tb_prune_plugin/static/ is stale: what frontend/ builds differs in ${stale.join(", ")}.\n` +
          `Fix: ${FIX}`,
      );
      process.exitCode = 1;
    } else {
      console.log("tb_prune_plugin/static/ is what frontend/ builds.");
    }
  } finally {
    rmSync(fresh, { recursive: true, force: true });
  }
} else {
  await build(staticDir);
  for (const name of ["index.js", "index.css"]) {
    const bytes = statSync(join(staticDir, name)).size;
    console.log(`${name}: ${(bytes / 1024).toFixed(1)} KiB`);
  }
}
