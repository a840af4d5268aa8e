// Which run and weight the single-weight views (Masks, Weight distributions) open on
// when the URL names none: the most pruned run and its largest pruned weight, so the
// first thing shown is pruning at work, not a dense baseline's all-kept mask.

import type { OverviewResponse } from "../types";

/** A run that may be focused and its weights that pass the weight filter, in /runs order. */
export interface FocusCandidate {
  run: string;
  weights: readonly string[];
}

export interface FocusChoice {
  run: string;
  weight: string;
}

/**
 * The run with the highest last global sparsity in `overview` among `candidates` (the
 * first in candidate order on a tie; runs without one count as -1, below any recorded),
 * unless `run` names a candidate; then that run's largest weight by size with sparsity
 * above 0 (the first in the run's order on a tie), else its first weight, unless `weight`
 * names one of its weights. null when there is no candidate.
 */
export function defaultFocus(
  overview: OverviewResponse | null,
  candidates: readonly FocusCandidate[],
  run: string | null = null,
  weight: string | null = null,
): FocusChoice | null {
  if (!candidates.length) return null;
  let chosen = candidates.find((c) => c.run === run);
  if (!chosen) {
    const global = new Map((overview?.runs ?? []).map((r) => [r.run, r.global_sparsity ?? -1]));
    chosen = candidates[0]!;
    for (const c of candidates) if ((global.get(c.run) ?? -1) > (global.get(chosen.run) ?? -1)) chosen = c;
  }
  if (weight !== null && chosen.weights.includes(weight)) return { run: chosen.run, weight };
  const size = new Map<string, number>();
  for (const row of overview?.rows ?? []) {
    if (row.run === chosen.run && row.sparsity !== null && row.sparsity > 0) size.set(row.weight, row.size);
  }
  let best: string | null = null;
  for (const w of chosen.weights) {
    if (size.has(w) && (best === null || size.get(w)! > size.get(best)!)) best = w;
  }
  return { run: chosen.run, weight: best ?? chosen.weights[0]! };
}
