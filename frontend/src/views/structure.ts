// Structure: what pruning removed as a whole. Per weight over steps, runs overlaid in their
// colours: the fraction of output units (filters) and of input channels with every weight
// pruned, and, for a run pruned with N:M or a block size, N:M compliance and the fraction
// of blocks entirely pruned. The monitor records those two exactly when the weight's
// configuration sets them (NaN otherwise, docs/format.md), so a run draws them only then.
// Above, per run over steps: the model's non-zeros, and its bytes stored dense and sparse.

import { formatBytes, formatCountTick, formatPercent } from "../transforms/format";
import { alignSeries, type XYTable } from "../transforms/series";
import type { ModelStatsField, WeightStatsField } from "../types";
import { chartBox, type LineSpec } from "../ui/chart";
import { el, replaceChildren } from "../ui/dom";
import { runColor } from "../ui/run_colors";
import { errorState, loadingState, noticeState } from "../ui/states";
import { drawnLineChart, hasValues } from "./drawn";
import type { ViewContext } from "./view";
import { loadModelSeries, showable, weightCharts } from "./weight_charts";

const pct = (v: number) => formatPercent(v, 0);

/** The structure figures a per-weight chart draws, with their line style and label. */
const WEIGHT_LINES: readonly { field: WeightStatsField; label: string; dash?: number[]; width?: number }[] = [
  { field: "pruned_units_fraction", label: "units pruned" },
  { field: "pruned_inputs_fraction", label: "inputs pruned", dash: [6, 4], width: 1.5 },
  { field: "nm_compliance", label: "N:M compliance", dash: [2, 3], width: 2 },
  { field: "block_sparsity", label: "blocks pruned", dash: [10, 3, 2, 3], width: 1.5 },
];
const WEIGHT_FIELDS = WEIGHT_LINES.map((l) => l.field);
const MODEL_FIELDS: readonly ModelStatsField[] = ["model_nonzeros", "dense_bytes", "sparse_bytes"];

export function structureView(root: HTMLElement, ctx: ViewContext): void {
  root.appendChild(
    el(
      "p",
      { class: "intro" },
      "Per weight: output units (filters) with every weight pruned (solid), input channels likewise (dashed), " +
        "N:M compliance (dotted, runs pruned N:M) and blocks entirely pruned (dash-dot, runs with a block size). " +
        "Model: non-zeros; bytes stored sparse (solid) and dense (dashed).",
    ),
  );
  if (!ctx.shownRuns.length) {
    root.appendChild(noticeState("No run is selected.", "Tick one or more runs on the left."));
    return;
  }
  const nonzeros = chartBox("chart-model-nonzeros", "Model non-zeros");
  const bytes = chartBox("chart-model-bytes", "Model size in bytes");
  const bodies = [nonzeros, bytes].map((box) => {
    const body = el("div", { class: "chart-body" }, loadingState("the model-wide figures"));
    box.appendChild(body);
    return body;
  });
  root.appendChild(el("div", { class: "chart-grid" }, nonzeros, bytes));
  const loadModel = () =>
    loadModelSeries(ctx, MODEL_FIELDS).then(
      (results) => {
        if (!ctx.ticket.isCurrent()) return;
        bodies.forEach((b) => b.remove());
        const counts: { tables: XYTable[]; lines: LineSpec[] } = { tables: [], lines: [] };
        const sizes: { tables: XYTable[]; lines: LineSpec[] } = { tables: [], lines: [] };
        for (const { run, series } of results) {
          if (!series || !series.steps.length) continue;
          const color = runColor(run.run);
          const f = series.fields;
          counts.tables.push({ x: series.steps, ys: [f.model_nonzeros ?? []] });
          counts.lines.push({ label: `${run.run} non-zeros`, color });
          sizes.tables.push({ x: series.steps, ys: [f.sparse_bytes ?? [], f.dense_bytes ?? []] });
          sizes.lines.push({ label: `${run.run} sparse bytes`, color });
          sizes.lines.push({ label: `${run.run} dense bytes`, color, dash: [6, 4], width: 1.5 });
        }
        if (!counts.lines.length) {
          nonzeros.appendChild(noticeState("No model-wide figures recorded yet."));
          bytes.appendChild(noticeState("No model-wide figures recorded yet."));
          return;
        }
        const common = { xLabel: "step" };
        drawnLineChart(
          nonzeros,
          { ...common, title: "Model non-zeros", yLabel: "non-zeros", lines: counts.lines, table: alignSeries(counts.tables), yFormat: formatCountTick },
          ctx.scope,
        );
        drawnLineChart(
          bytes,
          { ...common, title: "Model size", yLabel: "bytes", lines: sizes.lines, table: alignSeries(sizes.tables), yFormat: formatBytes },
          ctx.scope,
        );
      },
      (e) => {
        if (!ctx.ticket.isCurrent() || !showable(e)) return;
        bodies.forEach((b) => replaceChildren(b, errorState(e, "the model-wide figures")));
      },
    );

  // The model charts are asked for once the first weight's chart is in (see weightCharts).
  weightCharts(
    root,
    ctx,
    "chart-structure",
    WEIGHT_FIELDS,
    (box, weight, loaded) => {
      const tables: XYTable[] = [];
      const lines: LineSpec[] = [];
      for (const { run, series } of loaded) {
        const color = runColor(run.run);
        for (const line of WEIGHT_LINES) {
          const values = series.fields[line.field];
          if (!hasValues(values)) continue;
          tables.push({ x: series.steps, ys: [values] });
          lines.push({ label: `${run.run} ${line.label}`, color, dash: line.dash, width: line.width });
        }
      }
      if (!lines.length) {
        box.appendChild(noticeState(`No structure figures recorded for ${weight}.`));
        return;
      }
      drawnLineChart(
        box,
        { title: weight, xLabel: "step", yLabel: "fraction", lines, table: alignSeries(tables), yRange: [0, 1], yFormat: pct },
        ctx.scope,
      );
    },
    loadModel,
  );
}
