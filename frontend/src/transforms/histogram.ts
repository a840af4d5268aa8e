// Resampling per-step |w| histograms onto one common value axis. Each step's
// histogram has its own [lo, hi] (weights grow and shrink while training), so
// to draw steps x value as one heatmap every step is spread onto the same
// pixel columns: a bin's count is shared among the columns it overlaps, in
// proportion to the overlap.

import type { HistogramsResponse } from "../types";

export interface HistogramRaster {
  /** The common value range of the columns. */
  lo: number;
  hi: number;
  /** One row per step: the count falling into each of `width` columns. */
  rows: Float64Array[];
  /** Each row's threshold column, or null when there is none or it is off the axis. */
  thresholdColumns: (number | null)[];
}

/** The column of value `v` on [lo, hi] split into `width` columns; null when outside. */
export function valueToColumn(v: number, lo: number, hi: number, width: number): number | null {
  if (!Number.isFinite(v) || v < lo || v > hi) return null;
  return Math.min(width - 1, Math.floor(((v - lo) / (hi - lo)) * width));
}

/** Resamples every step's histogram onto `width` columns over the union of their ranges. */
export function rasterizeHistograms(h: HistogramsResponse, width: number): HistogramRaster {
  let lo = Infinity;
  let hi = -Infinity;
  h.steps.forEach((_, i) => {
    const l = h.lo[i];
    const u = h.hi[i];
    if (l !== null && l !== undefined && u !== null && u !== undefined) {
      lo = Math.min(lo, l);
      hi = Math.max(hi, u);
    }
  });
  if (!Number.isFinite(lo)) {
    lo = 0;
    hi = 1;
  }
  if (hi <= lo) hi = lo + 1;
  const colWidth = (hi - lo) / width;
  const rows = h.steps.map((_, i) => {
    const row = new Float64Array(width);
    const counts = h.counts[i] ?? [];
    const l = h.lo[i];
    const u = h.hi[i];
    if (l === null || l === undefined || u === null || u === undefined || !counts.length) return row;
    const binWidth = (u - l) / counts.length;
    counts.forEach((count, b) => {
      if (!count) return;
      const b0 = l + b * binWidth;
      const b1 = b0 + binWidth;
      if (binWidth <= 0) {
        // A degenerate range (all kept weights equal): the whole count sits at one value.
        row[valueToColumn(b0, lo, hi, width) ?? 0]! += count;
        return;
      }
      const c0 = Math.max(0, Math.floor((b0 - lo) / colWidth));
      const c1 = Math.min(width - 1, Math.floor((b1 - lo) / colWidth - 1e-9));
      for (let c = c0; c <= c1; c++) {
        const x0 = Math.max(b0, lo + c * colWidth);
        const x1 = Math.min(b1, lo + (c + 1) * colWidth);
        if (x1 > x0) row[c]! += (count * (x1 - x0)) / binWidth;
      }
    });
    return row;
  });
  const thresholdColumns = h.threshold.map((t) =>
    t === null || t === undefined ? null : valueToColumn(t, lo, hi, width),
  );
  return { lo, hi, rows, thresholdColumns };
}
