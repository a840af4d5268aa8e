// Sensitivity: what `sensitivity_scan` measured. Per weight, a chosen metric against the
// sparsity the weight alone was pruned to (scans overlaid, in run colours); the weights
// ranked by the area under their metric-drop curve; and an allocation of per-layer
// sparsities that reaches a target global sparsity within a tolerated drop, as a Python
// snippet (TF-MOT prune_low_magnitude with ConstantSparsity per layer) and as JSON.

import { isAbort } from "../api";
import { formatCount, formatNumber, formatPercent } from "../transforms/format";
import {
  DATA_FREE_METRIC,
  allocate,
  allocationSnippet,
  curvePoints,
  layerSparsities,
  rankBySensitivity,
  sensitivityLowerIsBetter,
  type Allocation,
  type LayerCurve,
} from "../transforms/sensitivity";
import type { SensitivityWeight } from "../types";
import { chartBox, xyChart } from "../ui/chart";
import { el, select, swatch } from "../ui/dom";
import { metricControls } from "../ui/metric_controls";
import { runColor } from "../ui/run_colors";
import { errorState, loadingState, noticeState } from "../ui/states";
import type { ViewContext } from "./view";

interface Scan {
  run: string;
  weights: SensitivityWeight[];
}

/** What a curve chart drew, kept on its figure (`chartData`) for browser tests. */
export interface DrawnCurves {
  labels: string[];
  series: { xs: number[]; ys: number[] }[];
}

/** The allocation's inputs, kept while the view is rebuilt (a metric change rebuilds it). */
const choice = { target: 0.5, tolerance: 0.05, run: null as string | null };

export function sensitivityView(root: HTMLElement, ctx: ViewContext): void {
  root.appendChild(
    el(
      "p",
      { class: "intro" },
      "Each weight pruned alone to each sparsity by sensitivity_scan, the model evaluated, the weight restored.",
    ),
  );
  const body = el("div", {}, loadingState("sensitivity scans"));
  root.appendChild(body);
  ctx.api.sensitivity().then(
    (answer) => {
      if (!ctx.ticket.isCurrent()) return;
      body.replaceChildren();
      const shown = new Set(ctx.shownRuns.map((r) => r.run));
      const scans = answer.scans
        .filter((s) => shown.has(s.run))
        .map((s) => ({ run: s.run, weights: s.weights.filter((w) => ctx.weightFilter.test(w.weight)) }))
        .filter((s) => s.weights.length);
      if (!scans.length) {
        body.appendChild(
          noticeState(
            "No selected run holds a sensitivity scan of a weight that matches the weight filter.",
            "Run sensitivity_scan(model, validation_data, log_dir) from tb_prune_plugin.callbacks into a directory under TensorBoard's logdir, then press Refresh.",
          ),
        );
        return;
      }
      draw(body, scans, ctx);
    },
    (e) => {
      if (!ctx.ticket.isCurrent() || isAbort(e)) return;
      body.replaceChildren(errorState(e, "sensitivity scans"));
    },
  );
}

function metricNames(scans: readonly Scan[]): string[] {
  const names = new Set<string>();
  for (const s of scans) for (const w of s.weights) for (const m of Object.keys(w.metrics)) names.add(m);
  return [...names].sort();
}

function curvesOf(scan: Scan, metric: string): LayerCurve[] {
  return scan.weights
    .filter((w) => metric in w.metrics)
    .map((w) => ({ weight: w.weight, size: w.size, sparsities: w.sparsities, values: w.metrics[metric]! }));
}

function draw(body: HTMLElement, scans: Scan[], ctx: ViewContext): void {
  const names = metricNames(scans);
  const metric =
    ctx.state.metric !== null && names.includes(ctx.state.metric) ? ctx.state.metric : names.includes("loss") ? "loss" : names[0]!;
  const lowerBetter = sensitivityLowerIsBetter(metric, ctx.state.better);
  const controls = metricControls("sensitivity-metric", names, metric, lowerBetter, (patch) => ctx.setState(patch));
  body.append(el("div", { class: "controls" }, ...controls));
  body.append(allocationSection(scans, metric, lowerBetter), rankingSection(scans, metric, lowerBetter));
  body.appendChild(el("h3", {}, `${metric} against each weight's sparsity`));
  const weights = [...new Set(scans.flatMap((s) => s.weights.map((w) => w.weight)))];
  for (const weight of weights) curveChart(body, scans, weight, metric, ctx);
}

/** Appends the chart of `weight`'s curves, one series per scan holding it. */
function curveChart(parent: HTMLElement, scans: readonly Scan[], weight: string, metric: string, ctx: ViewContext): void {
  const box = chartBox("chart-sensitivity", `${weight}: ${metric} with only this weight pruned`);
  box.setAttribute("data-weight", weight);
  parent.appendChild(box);
  const drawn: DrawnCurves = { labels: [], series: [] };
  const series = [];
  for (const scan of scans) {
    const w = scan.weights.find((x) => x.weight === weight);
    const values = w?.metrics[metric];
    if (!w || !values) continue;
    const { xs, ys } = curvePoints({ sparsities: w.sparsities, values });
    drawn.labels.push(scan.run);
    drawn.series.push({ xs, ys });
    series.push({ label: scan.run, color: runColor(scan.run), xs, ys, line: true, points: true });
  }
  (box as HTMLElement & { chartData?: DrawnCurves }).chartData = drawn;
  const xFormat = (v: number) => formatPercent(v, 0);
  xyChart(box, { title: "", xLabel: "sparsity of this weight", yLabel: metric, xLog: false, xFormat, series }, ctx.scope);
}

function rankingSection(scans: readonly Scan[], metric: string, lowerBetter: boolean): HTMLElement {
  const rows = scans.flatMap((scan) => {
    const sizes = new Map(scan.weights.map((w) => [w.weight, w.size]));
    return rankBySensitivity(curvesOf(scan, metric), metric, lowerBetter).map((r) => ({ run: scan.run, size: sizes.get(r.weight)!, ...r }));
  });
  rows.sort((a, b) => b.area - a.area);
  const table = el(
    "table",
    { class: "data", "data-testid": "sensitivity-ranking" },
    el("thead", {}, el("tr", {}, ...["Run", "Weight", "Size", "Area under drop", "Largest drop"].map((t) => el("th", { scope: "col" }, t)))),
    el(
      "tbody",
      {},
      ...rows.map((r) =>
        el(
          "tr",
          { "data-testid": "sensitivity-rank-row", "data-run": r.run, "data-weight": r.weight, "data-area": String(r.area) },
          el("td", {}, swatch(runColor(r.run)), r.run),
          el("td", {}, r.weight),
          el("td", { class: "num" }, formatCount(r.size)),
          el("td", { class: "num" }, formatNumber(r.area)),
          el("td", { class: "num" }, formatNumber(r.maxDrop)),
        ),
      ),
    ),
  );
  return el(
    "section",
    {},
    el("h3", {}, "Weights ranked by sensitivity"),
    el(
      "p",
      { class: "hint" },
      `Most sensitive first: the area under the curve of the drop in ${metric} (${lowerBetter ? "lower" : "higher"} is better) ` +
        "from its value at the scan's lowest sparsity, over the scanned sparsities (trapezoid rule).",
    ),
    table,
  );
}

function numberInput(id: string, label: string, value: number, onInput: (v: number) => void): HTMLElement[] {
  const input = el("input", { id, "data-testid": id, type: "number", min: 0, step: 0.01, value: String(value) });
  input.addEventListener("input", () => {
    const v = Number(input.value);
    if (input.value.trim() !== "" && Number.isFinite(v) && v >= 0) onInput(v);
  });
  return [el("label", { for: id }, label), input];
}

function allocationSection(scans: readonly Scan[], metric: string, lowerBetter: boolean): HTMLElement {
  const runs = scans.map((s) => s.run);
  if (choice.run === null || !runs.includes(choice.run)) choice.run = runs[0]!;
  const result = el("div", { "data-testid": "sensitivity-allocation" });
  const render = () => {
    const scan = scans.find((s) => s.run === choice.run)!;
    renderAllocation(result, scan, metric, lowerBetter);
  };
  const runSelect = select({ id: "allocation-run", "data-testid": "allocation-run" }, runs.map((r) => [r, r] as const), choice.run);
  runSelect.addEventListener("change", () => {
    choice.run = runSelect.value;
    render();
  });
  const controls = el(
    "div",
    { class: "controls" },
    el("label", { for: "allocation-run" }, "Scan "),
    runSelect,
    ...numberInput("allocation-target", "Target global sparsity ", choice.target, (v) => {
      choice.target = Math.min(v, 1);
      render();
    }),
    ...numberInput("allocation-tolerance", `Tolerated drop in ${metric} `, choice.tolerance, (v) => {
      choice.tolerance = v;
      render();
    }),
  );
  render();
  return el("section", {}, el("h3", {}, "Per-layer sparsities for a target"), controls, result);
}

function baselineOf(curves: readonly LayerCurve[]): number | null {
  for (const c of curves) {
    const { ys } = curvePoints(c);
    if (ys.length) return ys[0]!;
  }
  return null;
}

function renderAllocation(result: HTMLElement, scan: Scan, metric: string, lowerBetter: boolean): void {
  const curves = curvesOf(scan, metric);
  const a = allocate(curves, metric, lowerBetter, choice.target, choice.tolerance);
  const dataFree = metric === DATA_FREE_METRIC;
  const base = dataFree ? null : baselineOf(curves);
  const predicted = base === null ? null : lowerBetter ? base + a.predictedDrop : base - a.predictedDrop;
  const json = allocationJson(scan.run, metric, lowerBetter, a, predicted);
  const header =
    `Per-layer sparsities from the sensitivity scan ${JSON.stringify(scan.run)} (${metric}, ${lowerBetter ? "lower" : "higher"} is better):\n` +
    `global sparsity ${formatPercent(a.globalSparsity)} (target ${choice.target}), ` +
    `predicted drop ${formatNumber(a.predictedDrop)} (tolerated ${choice.tolerance}).`;
  const sizes = new Map(scan.weights.map((w) => [w.weight, w.size]));
  const status = a.reached
    ? `Reaches ${formatPercent(a.globalSparsity)} global sparsity`
    : `The target is out of reach within the tolerated drop: the sparsest allocation found reaches ${formatPercent(a.globalSparsity)}`;
  const filters = scan.weights.some((w) => w.structure === "filters");
  result.replaceChildren(
    el(
      "p",
      { "data-testid": "allocation-status", "data-reached": String(a.reached) },
      `${status}, with a predicted drop of ${formatNumber(a.predictedDrop)} in ${metric}` +
        (predicted === null ? "." : ` (${metric} ${formatNumber(base)} \u2192 ${formatNumber(predicted)}).`),
    ),
    el(
      "p",
      { class: "hint" },
      "Each layer takes one of its measured sparsities; starting from the lowest, the layer whose next level adds the least drop per weight removed moves up " +
        "while the sum of the layers' drops (each measured alone, assumed to add up) stays within the tolerance, until the size-weighted global sparsity reaches the target." +
        (filters ? " This scan removed whole filters; the snippet prunes single weights (ConstantSparsity)." : ""),
    ),
    el(
      "table",
      { class: "data" },
      el("thead", {}, el("tr", {}, ...["Weight", "Size", "Sparsity", "Drop"].map((t) => el("th", { scope: "col" }, t)))),
      el(
        "tbody",
        {},
        ...Object.entries(a.sparsities).map(([w, s]) =>
          el(
            "tr",
            { "data-testid": "allocation-row", "data-weight": w, "data-sparsity": String(s) },
            el("td", {}, w),
            el("td", { class: "num" }, formatCount(sizes.get(w) ?? null)),
            el("td", { class: "num" }, formatPercent(s, 1)),
            el("td", { class: "num" }, formatNumber(a.drops[w]!)),
          ),
        ),
      ),
    ),
    el("pre", { class: "code", "data-testid": "allocation-snippet" }, allocationSnippet(a, header)),
    el("pre", { class: "code", "data-testid": "allocation-json" }, JSON.stringify(json, null, 2)),
  );
  (result as HTMLElement & { allocationData?: Allocation }).allocationData = a;
}

function allocationJson(run: string, metric: string, lowerBetter: boolean, a: Allocation, predicted: number | null): object {
  return {
    scan: run,
    metric,
    lower_is_better: lowerBetter,
    target_global_sparsity: choice.target,
    tolerated_drop: choice.tolerance,
    global_sparsity: a.globalSparsity,
    reached: a.reached,
    predicted_drop: a.predictedDrop,
    predicted_metric: predicted,
    sparsities: a.sparsities,
    layer_sparsities: layerSparsities(a),
  };
}
