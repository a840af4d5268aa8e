// The series of the Structure, Configuration and Weight statistics charts: runs overlaid,
// each run in its colour, one line per run and figure, joined on the union of steps. What
// is drawn is decided here (pure, tested in test/overlay.test.ts); the views only mount it.

import type { ModelStatsField, RunSeriesEntry, WeightStatsField } from "../types";
import type { ConfigColumn } from "./run_config";
import { previewCurve, scheduleEnd } from "./schedule";
import { alignSeries, type AlignedTable, type XYTable } from "./series";

/** One drawn line (the shape of ui/chart.ts's LineSpec). */
export interface OverlayLine {
  label: string;
  color: string;
  dash?: number[];
  width?: number;
}

/** A chart's lines and the table they are drawn from (one column per line, in order). */
export interface Overlay {
  lines: OverlayLine[];
  table: AlignedTable;
}

export type RunColor = (run: string) => string;

/** A run's series as loaded: null for a run without one. */
export interface LoadedSeries<F extends string> {
  run: string;
  series: RunSeriesEntry<F> | null;
}

/** A line style per figure, the label after the run's name. */
interface Figure<F extends string> {
  field: F;
  label: string;
  dash?: number[];
  width?: number;
}

/** Whether a series has at least one finite value to draw. */
export function hasValues(values: readonly (number | null)[] | undefined): values is (number | null)[] {
  return values !== undefined && values.some((v) => v !== null && Number.isFinite(v));
}

/**
 * One line per run and figure, labelled "<run> <figure label>" (or "<run>" when the label is
 * empty); a run without a series, or a figure without any value in it, has no line.
 */
export function overlay<F extends string>(loaded: readonly LoadedSeries<F>[], figures: readonly Figure<F>[], color: RunColor): Overlay {
  const lines: OverlayLine[] = [];
  const tables: XYTable[] = [];
  for (const { run, series } of loaded) {
    if (!series || !series.steps.length) continue;
    for (const f of figures) {
      const values = series.fields[f.field];
      if (!hasValues(values)) continue;
      tables.push({ x: series.steps, ys: [values] });
      lines.push({ label: f.label ? `${run} ${f.label}` : run, color: color(run), dash: f.dash, width: f.width });
    }
  }
  return { lines, table: alignSeries(tables) };
}

/**
 * The structure figures of a weight: output units and input channels with every weight
 * pruned, N:M compliance and blocks entirely pruned. The monitor records the last two
 * (else NaN) exactly when the weight's configuration sets N:M or a block size, so a run
 * has those lines only then.
 */
export const STRUCTURE_FIGURES: readonly Figure<WeightStatsField>[] = [
  { field: "pruned_units_fraction", label: "units pruned" },
  { field: "pruned_inputs_fraction", label: "inputs pruned", dash: [6, 4], width: 1.5 },
  { field: "nm_compliance", label: "N:M compliance", dash: [2, 3], width: 2 },
  { field: "block_sparsity", label: "blocks pruned", dash: [10, 3, 2, 3], width: 1.5 },
];

/** The model's non-zeros, one line per run. */
export const NONZERO_FIGURES: readonly Figure<ModelStatsField>[] = [{ field: "model_nonzeros", label: "non-zeros" }];

/** The model's bytes stored sparse (solid) and dense (dashed), per run. */
export const BYTE_FIGURES: readonly Figure<ModelStatsField>[] = [
  { field: "sparse_bytes", label: "sparse bytes" },
  { field: "dense_bytes", label: "dense bytes", dash: [6, 4], width: 1.5 },
];

/**
 * The schedule preview: per configuration column with a schedule, its planned staircase
 * ("<run> planned", with the column's weights when the run has several schedules), dashed,
 * from step 0 to `until` (the furthest of the runs' `lastSteps` and every schedule's end,
 * so an open-ended schedule spans the chart); then per run its actual global sparsity.
 */
export function previewOverlay(
  columns: readonly ConfigColumn[],
  lastSteps: readonly (number | null)[],
  actual: readonly LoadedSeries<ModelStatsField>[],
  color: RunColor,
): Overlay & { planned: number } {
  const planned = columns.filter((c) => c.preview !== null);
  let until = 0;
  for (const s of lastSteps) until = Math.max(until, s ?? 0);
  for (const c of planned) until = Math.max(until, scheduleEnd(c.preview!) ?? 0);
  const perRun = new Map<string, number>();
  for (const c of planned) perRun.set(c.run, (perRun.get(c.run) ?? 0) + 1);
  const lines: OverlayLine[] = [];
  const tables: XYTable[] = [];
  for (const c of planned) {
    const curve = previewCurve(c.preview!, until);
    tables.push({ x: curve.steps, ys: [curve.values] });
    const which = perRun.get(c.run)! > 1 ? ` (${c.weights.join(", ")})` : "";
    lines.push({ label: `${c.run} planned${which}`, color: color(c.run), dash: [6, 4], width: 1.5 });
  }
  const measured = overlay(actual, [{ field: "global_sparsity", label: "actual" }], color);
  return {
    lines: [...lines, ...measured.lines],
    table: alignSeries([...tables, { x: measured.table.x, ys: measured.table.ys }]),
    planned: planned.length,
  };
}
