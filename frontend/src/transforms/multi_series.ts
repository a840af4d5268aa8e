// Asking the `*_series_multi` routes for many runs at once: runs split into
// requests the server accepts, and each answer split back into one entry per
// run, so the cache can hold runs one by one.

import type { RunSeriesEntry } from "../types";

/** The most runs one `*_series_multi` request may name (http_api.md). */
export const MAX_RUNS_PER_REQUEST = 100;

/**
 * Bytes of encoded run names per request: TensorBoard answers 414 to a URL of
 * 64 KiB and more, and run names may be long and mostly percent-encoded.
 */
export const MAX_RUN_QUERY_CHARS = 16_000;

/**
 * Splits `runs` (order kept) into groups of at most `maxRuns` whose encoded
 * `run=` parameters take at most `maxChars` characters; a single run longer
 * than that still gets a group of its own.
 */
export function runChunks(
  runs: readonly string[],
  maxRuns = MAX_RUNS_PER_REQUEST,
  maxChars = MAX_RUN_QUERY_CHARS,
): string[][] {
  const chunks: string[][] = [];
  let current: string[] = [];
  let chars = 0;
  for (const run of runs) {
    const cost = "&run=".length + encodeURIComponent(run).length;
    if (current.length && (current.length >= maxRuns || chars + cost > maxChars)) {
      chunks.push(current);
      current = [];
      chars = 0;
    }
    current.push(run);
    chars += cost;
  }
  if (current.length) chunks.push(current);
  return chunks;
}

/**
 * The entry of each requested run in a multi-run answer: its series, or null
 * when the server lists it as missing. An answer that leaves a requested run
 * out of both lists, or sends a run nobody asked for, is not what the route
 * promises: that throws, naming the run.
 */
export function seriesByRun<F extends string>(
  requested: readonly string[],
  answer: { series: readonly RunSeriesEntry<F>[]; missing: readonly string[] },
): Map<string, RunSeriesEntry<F> | null> {
  const asked = new Set(requested);
  const out = new Map<string, RunSeriesEntry<F> | null>();
  for (const entry of answer.series) {
    if (!asked.has(entry.run)) throw new Error(`the answer holds run ${JSON.stringify(entry.run)}, which was not asked for`);
    out.set(entry.run, entry);
  }
  for (const run of answer.missing) {
    if (!asked.has(run)) throw new Error(`the answer lists run ${JSON.stringify(run)} as missing, which was not asked for`);
    if (!out.has(run)) out.set(run, null);
  }
  for (const run of requested) {
    if (!out.has(run)) throw new Error(`the answer has no series for run ${JSON.stringify(run)} and does not list it as missing`);
  }
  return out;
}

/** The `fields` parameter: the names in a fixed order (so equal sets make equal URLs and cache keys). */
export function fieldsParam(fields: readonly string[]): string {
  return [...new Set(fields)].sort().join(",");
}
