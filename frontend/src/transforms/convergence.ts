// Mask convergence (GET /mask_convergence) shaped for a chart: each run's distance from its
// final mask over the recorded steps, with the early-bird step (from which the distance stays
// under the limit) as a single marked point, and a sentence per run saying where it is.

import type { ConvergenceSeries } from "../types";
import { formatCount, formatPercent } from "./format";
import { alignSeries, type AlignedTable } from "./series";

/** One drawn series: a run's distance curve, or its early-bird mark. */
export interface ConvergenceLine {
  run: string;
  label: string;
  role: "distance" | "early bird";
}

export interface ConvergenceChart {
  lines: ConvergenceLine[];
  table: AlignedTable;
}

/** The early-bird mark: the run's fraction at its early-bird step, null at every other step. */
export function earlyBirdMarker(s: ConvergenceSeries): (number | null)[] {
  return s.steps.map((step, i) => (step === s.early_bird_step ? (s.fraction[i] ?? null) : null));
}

/** Per run two columns over the union of steps: the distance (fraction) and the early-bird mark. */
export function convergenceChart(series: readonly ConvergenceSeries[]): ConvergenceChart {
  const lines: ConvergenceLine[] = [];
  const tables = series.map((s) => {
    lines.push({ run: s.run, label: `${s.run} distance`, role: "distance" });
    lines.push({ run: s.run, label: `${s.run} early bird`, role: "early bird" });
    return { x: s.steps, ys: [s.fraction, earlyBirdMarker(s)] };
  });
  return { lines, table: alignSeries(tables) };
}

/** What the chart shows of one run, in words. */
export function earlyBirdText(s: ConvergenceSeries, limit: number): string {
  const n = s.steps.length;
  if (s.early_bird_step === null || !n) return `${s.run}: no recorded mask of the final shape.`;
  const last = s.steps[n - 1]!;
  const unreadable = s.unreadable ? ` (${formatCount(s.unreadable)} unreadable records left out)` : "";
  if (s.early_bird_step === last && n > 1) {
    return `${s.run}: the mask changed by ${formatPercent(limit, 0)} or more until its last record, step ${formatCount(last)}: no early-bird point before the end${unreadable}.`;
  }
  return `${s.run}: early bird at step ${formatCount(s.early_bird_step)}: from there the mask differs from its final one (step ${formatCount(last)}) in under ${formatPercent(limit, 0)} of its ${formatCount(s.size)} weights${unreadable}.`;
}
