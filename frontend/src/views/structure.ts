// Structure: what pruning removed as a whole. Per weight over steps, runs overlaid in their
// colours: the fraction of output units (filters) and of input channels with every weight
// pruned, and, for a run pruned with N:M or a block size, N:M compliance and the fraction
// of blocks entirely pruned. The monitor records those two exactly when the weight's
// configuration sets them (NaN otherwise, docs/format.md), so a run draws them only then.
// Above, per run over steps: the model's non-zeros, and its bytes stored dense and sparse.

import { formatBytes, formatCountTick, formatPercent } from "../transforms/format";
import { BYTE_FIGURES, NONZERO_FIGURES, STRUCTURE_FIGURES, overlay } from "../transforms/overlay";
import type { ModelStatsField } from "../types";
import { chartBox } from "../ui/chart";
import { el, replaceChildren } from "../ui/dom";
import { runColor } from "../ui/run_colors";
import { errorState, loadingState, noticeState } from "../ui/states";
import { drawnLineChart } from "./drawn";
import type { ViewContext } from "./view";
import { loadModelSeries, showable, weightCharts } from "./weight_charts";

const pct = (v: number) => formatPercent(v, 0);
const WEIGHT_FIELDS = STRUCTURE_FIGURES.map((f) => f.field);
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
        const loaded = results.map((r) => ({ run: r.run.run, series: r.series }));
        const counts = overlay(loaded, NONZERO_FIGURES, runColor);
        const sizes = overlay(loaded, BYTE_FIGURES, runColor);
        if (!counts.lines.length) {
          nonzeros.appendChild(noticeState("No model-wide figures recorded yet."));
          bytes.appendChild(noticeState("No model-wide figures recorded yet."));
          return;
        }
        drawnLineChart(nonzeros, { title: "Model non-zeros", xLabel: "step", yLabel: "non-zeros", ...counts, yFormat: formatCountTick }, ctx.scope);
        drawnLineChart(bytes, { title: "Model size", xLabel: "step", yLabel: "bytes", ...sizes, yFormat: formatBytes }, ctx.scope);
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
      const chart = overlay(
        loaded.map((l) => ({ run: l.run.run, series: l.series })),
        STRUCTURE_FIGURES,
        runColor,
      );
      if (!chart.lines.length) {
        box.appendChild(noticeState(`No structure figures recorded for ${weight}.`));
        return;
      }
      drawnLineChart(box, { title: weight, xLabel: "step", yLabel: "fraction", ...chart, yRange: [0, 1], yFormat: pct }, ctx.scope);
    },
    loadModel,
  );
}
