// Weight statistics: how the weights themselves change while being pruned. For the chosen
// weight (shared with the Masks and Weight distributions views through the URL), three
// charts over steps, runs overlaid in their colours: the mean |w| of the kept weights,
// and the L2 norm and standard deviation of the effective weights (pruned ones as 0).
// Kept weights that grow while the L2 norm falls is magnitude pruning doing its job.

import { isAbort } from "../api";
import { formatNumber } from "../transforms/format";
import { overlay } from "../transforms/overlay";
import type { WeightStatsField } from "../types";
import { chartBox } from "../ui/chart";
import { el, replaceChildren, select } from "../ui/dom";
import { runColor } from "../ui/run_colors";
import { errorState, loadingState, noticeState } from "../ui/states";
import { drawnLineChart } from "./drawn";
import { noWeightNotice, shownWeights, type ViewContext } from "./view";

/** The statistics drawn, one chart each. */
export const STATISTICS: readonly { field: WeightStatsField; title: string; yLabel: string }[] = [
  { field: "kept_mean_abs", title: "Mean |w| of the kept weights", yLabel: "mean |w|" },
  { field: "l2", title: "L2 norm of the effective weights", yLabel: "L2 norm" },
  { field: "std", title: "Standard deviation of the effective weights", yLabel: "std" },
];

export function statisticsView(root: HTMLElement, ctx: ViewContext): void {
  const weights = shownWeights(ctx);
  if (!weights.length) {
    root.appendChild(noWeightNotice(ctx));
    return;
  }
  const weight = weights.includes(ctx.state.focusWeight ?? "") ? ctx.state.focusWeight! : weights[0]!;
  const weightSelect = select(
    { id: "stat-weight", "data-testid": "stat-weight" },
    weights.map((w) => [w, w] as const),
    weight,
  );
  weightSelect.addEventListener("change", () => ctx.setState({ focusWeight: weightSelect.value, step: null, region: null }));
  root.append(
    el(
      "p",
      { class: "intro" },
      "One weight, runs overlaid: the mean |w| of the weights the mask keeps, and the L2 norm and standard " +
        "deviation of the effective weights (pruned weights count as 0).",
    ),
    el("div", { class: "controls" }, el("label", { for: "stat-weight" }, "Weight "), weightSelect),
  );

  const boxes = STATISTICS.map((s) => {
    const box = chartBox("chart-statistic", `${s.title}: ${weight}`);
    box.setAttribute("data-stat", s.field);
    box.setAttribute("data-weight", weight);
    box.appendChild(el("div", { class: "chart-body" }, loadingState(s.title)));
    return box;
  });
  root.appendChild(el("div", { class: "chart-grid" }, ...boxes));

  const runs = ctx.shownRuns.filter((r) => r.weights.includes(weight));
  ctx.api
    .weightSeriesMulti(
      weight,
      runs.map((r) => r.run),
      STATISTICS.map((s) => s.field),
    )
    .then(
      (entries) => {
        if (!ctx.ticket.isCurrent()) return;
        const loaded = entries.map((series, i) => ({ run: runs[i]!.run, series }));
        STATISTICS.forEach((s, i) => {
          const box = boxes[i]!;
          box.querySelector(".chart-body")?.remove();
          const chart = overlay(loaded, [{ field: s.field, label: "" }], runColor);
          if (!chart.lines.length) {
            box.appendChild(noticeState(`No ${s.yLabel} recorded for ${weight} yet.`));
            return;
          }
          drawnLineChart(
            box,
            {
              title: s.title,
              xLabel: "step",
              yLabel: s.yLabel,
              ...chart,
              yFormat: formatNumber,
              markX: ctx.state.step,
            },
            ctx.scope,
          );
        });
      },
      (e) => {
        if (!ctx.ticket.isCurrent() || isAbort(e)) return;
        for (const box of boxes) replaceChildren(box.querySelector(".chart-body") ?? box, errorState(e, `the statistics of ${weight}`));
      },
    );
}
