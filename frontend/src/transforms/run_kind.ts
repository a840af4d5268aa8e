// What kind of run a run is, for its label in the sidebar: pruned by TF-MOT, pruned by
// the user's own code (manual), or not pruned at all (dense, e.g. a baseline).

import type { OverviewResponse, RunInfo } from "../types";

export type RunKind = "tfmot" | "manual" | "dense";

/** A target that asks for no pruning: none recorded, or 0. */
function noTarget(target: number | null): boolean {
  return target === null || target === 0;
}

/**
 * Runs that may be dense, judged from their last recorded state in /overview: not TF-MOT,
 * every weight at sparsity 0 with no target, and a global sparsity of 0 (when recorded).
 * Whether they stayed dense throughout is for `runKind` to tell from the series.
 */
export function denseCandidates(runs: readonly RunInfo[], overview: OverviewResponse): string[] {
  const rowsOf = new Map<string, OverviewResponse["rows"]>();
  for (const row of overview.rows) {
    const list = rowsOf.get(row.run) ?? [];
    list.push(row);
    rowsOf.set(row.run, list);
  }
  const globalOf = new Map(overview.runs.map((r) => [r.run, r.global_sparsity]));
  return runs
    .filter((r) => {
      const rows = rowsOf.get(r.run) ?? [];
      const global = globalOf.get(r.run);
      return (
        r.method !== "tfmot" &&
        rows.length > 0 &&
        rows.every((row) => row.sparsity === 0 && noTarget(row.target_sparsity)) &&
        (global === undefined || global === null || global === 0)
      );
    })
    .map((r) => r.run);
}

/**
 * The kind of `run`: "dense" when it is a dense candidate (see denseCandidates) whose global
 * sparsity was 0 at every recorded step (`globalSparsity`, at least one value); otherwise
 * the method its config names ("tfmot", "manual"), or null when it names none.
 */
/**
 * Whether a run holds training records (pruned weights or metrics), not only sensitivity
 * scans: a run written by `sensitivity_scan` alone is shown by the Sensitivity view only.
 */
export function holdsTraining(run: RunInfo): boolean {
  return run.weights.length > 0 || run.metrics.epoch.length > 0 || run.metrics.batch.length > 0;
}

export function runKind(
  run: RunInfo,
  candidate: boolean,
  globalSparsity: readonly (number | null)[] | null,
): RunKind | null {
  if (candidate && globalSparsity !== null) {
    const values = globalSparsity.filter((v): v is number => v !== null);
    if (values.length > 0 && values.every((v) => v === 0)) return "dense";
  }
  return run.method;
}
