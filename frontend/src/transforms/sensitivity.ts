// The Sensitivity view's arithmetic on measured scan curves (no DOM): the metric's drop
// against sparsity, the layers ranked by the area under that drop, and a per-layer
// allocation of sparsities that reaches a target global sparsity within a tolerated drop.

import { lowerIsBetter } from "./metrics";

/** The data-free scan's one metric: the mean |w| of the removed weights (damage: lower is better). */
export const DATA_FREE_METRIC = "mean_abs_removed";

/** One layer's measured curve of one metric. */
export interface LayerCurve {
  weight: string;
  /** The weight's number of entries: its share of the global sparsity. */
  size: number;
  sparsities: readonly (number | null)[];
  values: readonly (number | null)[];
}

/**
 * Whether lower values are better: the user's choice when made, else the name's rule
 * (`lowerIsBetter`: losses and errors), and always for the data-free metric.
 */
export function sensitivityLowerIsBetter(metric: string, choice: "lower" | "higher" | null): boolean {
  if (choice !== null) return choice === "lower";
  return metric === DATA_FREE_METRIC || lowerIsBetter(metric);
}

/** The curve's points with a finite sparsity and value, by increasing sparsity. */
export function curvePoints(curve: Pick<LayerCurve, "sparsities" | "values">): { xs: number[]; ys: number[] } {
  const points: [number, number][] = [];
  curve.sparsities.forEach((s, i) => {
    const v = curve.values[i];
    if (s !== null && v !== null && v !== undefined && Number.isFinite(s) && Number.isFinite(v)) points.push([s, v]);
  });
  points.sort((a, b) => a[0] - b[0]);
  return { xs: points.map((p) => p[0]), ys: points.map((p) => p[1]) };
}

/**
 * The metric's drop (how much worse than the baseline) at each finite point, by increasing
 * sparsity. The baseline is the value at the lowest measured sparsity (0 by default: the
 * model as it is); for the data-free metric it is 0 (nothing removed, no damage), and its
 * value itself is the drop.
 */
export function metricDrops(curve: LayerCurve, metric: string, lowerBetter: boolean): { xs: number[]; drops: number[] } {
  const withZero =
    metric === DATA_FREE_METRIC
      ? { ...curve, values: curve.values.map((v, i) => (v === null && curve.sparsities[i] === 0 ? 0 : v)) }
      : curve;
  const { xs, ys } = curvePoints(withZero);
  if (!ys.length) return { xs, drops: [] };
  const base = metric === DATA_FREE_METRIC ? 0 : ys[0]!;
  return { xs, drops: ys.map((v) => (lowerBetter ? v - base : base - v)) };
}

/** The area under the drop curve over the measured sparsities (trapezoid rule). */
export function dropArea(xs: readonly number[], drops: readonly number[]): number {
  let area = 0;
  for (let i = 1; i < xs.length; i++) area += ((xs[i]! - xs[i - 1]!) * (drops[i]! + drops[i - 1]!)) / 2;
  return area;
}

export interface RankedLayer {
  weight: string;
  /** Area under the drop curve: the ranking key, largest (most sensitive) first. */
  area: number;
  maxDrop: number;
}

/** The layers by sensitivity: largest area under the drop curve first (ties: by weight path). */
export function rankBySensitivity(curves: readonly LayerCurve[], metric: string, lowerBetter: boolean): RankedLayer[] {
  return curves
    .map((c) => {
      const { xs, drops } = metricDrops(c, metric, lowerBetter);
      return { weight: c.weight, area: dropArea(xs, drops), maxDrop: drops.length ? Math.max(...drops) : 0 };
    })
    .sort((a, b) => b.area - a.area || (a.weight < b.weight ? -1 : a.weight > b.weight ? 1 : 0));
}

export interface Allocation {
  /** Weight path -> its allocated sparsity (a measured level), in the curves' order. */
  sparsities: Record<string, number>;
  /** Weight path -> the measured drop at its allocated sparsity. */
  drops: Record<string, number>;
  /** sum(size * sparsity) / sum(size) over the layers. */
  globalSparsity: number;
  /** The sum of the layers' drops (each measured alone; assumed to add up). */
  predictedDrop: number;
  /** Whether globalSparsity reaches the target (else: the most found within the tolerance). */
  reached: boolean;
}

interface Steps {
  weight: string;
  size: number;
  xs: number[];
  drops: number[];
  at: number;
}

/**
 * Per-layer sparsities, each one of the layer's measured levels, that reach `target` global
 * sparsity (layers weighted by size) with the least predicted drop, greedily: every layer
 * starts at its lowest measured level; while the global sparsity is under the target, the
 * layer whose next level costs the least added drop per weight removed moves to it (ties:
 * the most weights removed, then the first layer), as long as the predicted drop (the sum of
 * the layers' drops) stays within `tolerance`. Levels of 1 and above are left out (TF-MOT's
 * schedules take sparsities below 1), and so is a layer's curve from its first level whose
 * drop alone exceeds `tolerance`. When no move fits, `reached` is false and the allocation
 * is the sparsest found.
 */
export function allocate(
  curves: readonly LayerCurve[],
  metric: string,
  lowerBetter: boolean,
  target: number,
  tolerance: number,
): Allocation {
  const layers: Steps[] = [];
  for (const c of curves) {
    const { xs, drops } = metricDrops(c, metric, lowerBetter);
    let n = xs.findIndex((x, i) => x >= 1 || (i > 0 && drops[i]! > tolerance));
    if (n < 0) n = xs.length;
    if (n > 0 && c.size > 0) layers.push({ weight: c.weight, size: c.size, xs: xs.slice(0, n), drops: drops.slice(0, n), at: 0 });
  }
  const total = layers.reduce((sum, l) => sum + l.size, 0);
  const removed = () => layers.reduce((sum, l) => sum + l.size * l.xs[l.at]!, 0);
  let predicted = layers.reduce((sum, l) => sum + l.drops[0]!, 0);
  while (total > 0 && removed() / total < target) {
    let best: Steps | null = null;
    let bestCost = Infinity;
    let bestGain = 0;
    for (const l of layers) {
      if (l.at + 1 >= l.xs.length) continue;
      const added = l.drops[l.at + 1]! - l.drops[l.at]!;
      if (predicted + added > tolerance) continue;
      const gain = l.size * (l.xs[l.at + 1]! - l.xs[l.at]!);
      const cost = added / gain;
      if (cost < bestCost || (cost === bestCost && gain > bestGain)) {
        best = l;
        bestCost = cost;
        bestGain = gain;
      }
    }
    if (best === null) break;
    predicted += best.drops[best.at + 1]! - best.drops[best.at]!;
    best.at += 1;
  }
  const globalSparsity = total > 0 ? removed() / total : 0;
  return {
    sparsities: Object.fromEntries(layers.map((l) => [l.weight, l.xs[l.at]!])),
    drops: Object.fromEntries(layers.map((l) => [l.weight, l.drops[l.at]!])),
    globalSparsity,
    predictedDrop: predicted,
    reached: total > 0 && globalSparsity >= target,
  };
}

/** The layer a weight path belongs to, as `clone_model`'s clone_function sees it: its last layer name. */
export function layerName(weight: string): string {
  const parts = weight.split("/");
  return parts.length > 1 ? parts[parts.length - 2]! : weight;
}

/**
 * Per layer name, the sparsity to give `prune_low_magnitude`: TF-MOT prunes every weight of a
 * wrapped layer to one sparsity, so a layer with several allocated weights takes the least.
 */
export function layerSparsities(allocation: Allocation): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [weight, s] of Object.entries(allocation.sparsities)) {
    const name = layerName(weight);
    out[name] = name in out ? Math.min(out[name]!, s) : s;
  }
  return out;
}

/** A Python number literal for a float64 (JavaScript's shortest round-trip form, as Python's repr). */
function pyFloat(x: number): string {
  const s = String(x);
  return /[.eE]/.test(s) ? s : `${s}.0`;
}

/** A Python string literal. */
function pyString(s: string): string {
  return JSON.stringify(s);
}

/** The allocation as Python: per-layer TF-MOT prune_low_magnitude with ConstantSparsity. */
export function allocationSnippet(allocation: Allocation, header: string): string {
  const layers = layerSparsities(allocation);
  const lines = [
    ...header.split("\n").map((l) => `# ${l}`),
    "import tensorflow_model_optimization as tfmot",
    "import tf_keras",
    "",
    "SPARSITIES = {",
    ...Object.entries(layers).map(([name, s]) => `    ${pyString(name)}: ${pyFloat(s)},`),
    "}",
    "",
    "",
    "def prune(layer):",
    '    """Wraps each layer named in SPARSITIES in prune_low_magnitude at its constant sparsity."""',
    "    if layer.name not in SPARSITIES:",
    "        return layer",
    "    schedule = tfmot.sparsity.keras.ConstantSparsity(SPARSITIES[layer.name], begin_step=0)",
    "    return tfmot.sparsity.keras.prune_low_magnitude(layer, pruning_schedule=schedule)",
    "",
    "",
    "# clone_model calls prune() on the model's own layers (not inside nested models).",
    "pruned = tf_keras.models.clone_model(model, clone_function=prune)",
    "",
  ];
  return lines.join("\n");
}
