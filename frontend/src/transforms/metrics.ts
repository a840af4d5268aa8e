// Joining training metrics with the model's global sparsity, for the
// accuracy-vs-sparsity view, and choosing which metric to show.

import type { MetricNames } from "../types";
import type { XAxisMode } from "./url_state";

/** A metric key as the view names it: "<scope>/<name>", e.g. "epoch/val_accuracy". */
export type MetricKey = string;

/** Every metric any of the runs recorded, epoch scope first, names sorted within a scope. */
export function metricKeys(runs: readonly { metrics: MetricNames }[]): MetricKey[] {
  const keys: MetricKey[] = [];
  for (const scope of ["epoch", "batch"] as const) {
    const names = new Set<string>();
    for (const r of runs) for (const n of r.metrics[scope] ?? []) names.add(n);
    for (const n of [...names].sort()) keys.push(`${scope}/${n}`);
  }
  return keys;
}

/** Splits "epoch/val_accuracy" into its scope and name (names may contain "/"). */
export function splitMetricKey(key: MetricKey): { scope: "epoch" | "batch"; name: string } | null {
  const slash = key.indexOf("/");
  const scope = key.slice(0, slash);
  if (slash < 0 || (scope !== "epoch" && scope !== "batch")) return null;
  return { scope, name: key.slice(slash + 1) };
}

/**
 * The metric to show when the user chose none: val_accuracy if recorded, else
 * accuracy, else loss (epoch scope before batch scope), else the first one.
 */
export function defaultMetric(keys: readonly MetricKey[]): MetricKey | null {
  for (const name of ["val_accuracy", "accuracy", "loss"]) {
    for (const scope of ["epoch", "batch"]) {
      if (keys.includes(`${scope}/${name}`)) return `${scope}/${name}`;
    }
  }
  return keys[0] ?? null;
}

/** Name parts that mark a metric as lower-is-better (a loss or an error measure). */
export const LOWER_IS_BETTER_PARTS = [
  "loss",
  "mse",
  "mae",
  "rmse",
  "mape",
  "error",
  "perplexity",
  "crossentropy",
] as const;

/**
 * Whether lower values of the metric `name` are better: its name contains one of
 * LOWER_IS_BETTER_PARTS (any case), e.g. "val_loss", "mean_squared_error", "val_mae",
 * "MAPE", "perplexity". Everything else (accuracy, auc, precision...) is higher-is-better.
 */
export function lowerIsBetter(name: string): boolean {
  const lower = name.toLowerCase();
  return LOWER_IS_BETTER_PARTS.some((part) => lower.includes(part));
}

/** The direction in force: the user's choice when made, else the name's (lowerIsBetter). */
export function metricLowerIsBetter(name: string, choice: "lower" | "higher" | null): boolean {
  return choice === null ? lowerIsBetter(name) : choice === "lower";
}

/** One metric value with the global sparsity in force when it was recorded. */
export interface MetricPoint {
  step: number;
  /** Global sparsity at the latest model_stats step at or before `step`. */
  sparsity: number;
  sparsityStep: number;
  value: number;
}

/**
 * Pairs each metric value with the global sparsity at the latest model_stats
 * step at or before the metric's step. Values without such a step, and null
 * values, are left out. Output is in metric step order.
 */
export function joinMetricWithSparsity(
  metricSteps: readonly number[],
  metricValues: readonly (number | null)[],
  modelSteps: readonly number[],
  globalSparsity: readonly (number | null)[],
): MetricPoint[] {
  const model = modelSteps
    .map((step, i) => ({ step, sparsity: globalSparsity[i] ?? null }))
    .filter((m): m is { step: number; sparsity: number } => m.sparsity !== null && Number.isFinite(m.sparsity))
    .sort((a, b) => a.step - b.step);
  const points: MetricPoint[] = [];
  const order = metricSteps.map((_, i) => i).sort((a, b) => metricSteps[a]! - metricSteps[b]!);
  for (const i of order) {
    const step = metricSteps[i]!;
    const value = metricValues[i];
    if (value === null || value === undefined || !Number.isFinite(value)) continue;
    // Binary search for the last model step <= step.
    let lo = 0;
    let hi = model.length - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (model[mid]!.step <= step) {
        found = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    if (found < 0) continue;
    points.push({ step, sparsity: model[found]!.sparsity, sparsityStep: model[found]!.step, value });
  }
  return points;
}

/**
 * The x value for a sparsity: the sparsity itself, or the percentage of
 * weights remaining (for a log axis, where 0% has no place: null).
 */
export function sparsityToX(sparsity: number, mode: XAxisMode): number | null {
  if (mode === "sparsity") return sparsity;
  const remaining = 100 * (1 - sparsity);
  return remaining > 0 ? remaining : null;
}
