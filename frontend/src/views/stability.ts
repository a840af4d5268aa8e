// Mask stability: how many weights each recorded step newly pruned and
// regrew (kept again), per weight with runs overlaid. A mask that keeps
// churning late in training is a schedule or learning-rate problem. Below,
// each weight's distance from its final mask over the recorded steps, with
// the early-bird step (from which it stays under 1%) marked and stated, and
// the overlap of the runs' kept sets (views/overlap.ts).

import { isAbort } from "../api";
import { convergenceChart, earlyBirdText } from "../transforms/convergence";
import { formatCountTick, formatPercent } from "../transforms/format";
import { alignSeries, type XYTable } from "../transforms/series";
import { chartBox, lineChart, type LineSpec } from "../ui/chart";
import { el, replaceChildren } from "../ui/dom";
import { lineKey } from "../ui/line_key";
import { runColor } from "../ui/run_colors";
import { errorState, loadingState, noticeState } from "../ui/states";
import { drawnLineChart } from "./drawn";
import { overlapSection } from "./overlap";
import { shownWeights, type ViewContext } from "./view";
import { MAX_WEIGHT_CHARTS, weightCharts } from "./weight_charts";

export function stabilityView(root: HTMLElement, ctx: ViewContext): void {
  root.append(
    lineKey([
      ["solid", "newly pruned"],
      ["dashed", "regrown"],
    ]),
    el(
      "p",
      { class: "intro" },
      "Weights newly pruned and regrown (kept again) since the previous recorded step. " +
        "TF-MOT never regrows; after the schedule ends both should stay at zero.",
    ),
  );
  const churn = el("div", {});
  const convergence = el("section", { class: "convergence", "data-testid": "convergence-section" });
  const overlap = el("section", { class: "overlap-section", "data-testid": "overlap-section" });
  root.append(churn, convergence, overlap);
  weightCharts(
    churn,
    ctx,
    "chart-stability",
    ["newly_pruned", "regrown"],
    (box, weight, loaded) => {
      const tables: XYTable[] = [];
      const lines: LineSpec[] = [];
      for (const { run, series } of loaded) {
        const color = runColor(run.run);
        tables.push({ x: series.steps, ys: [series.fields.newly_pruned ?? [], series.fields.regrown ?? []] });
        lines.push({ label: `${run.run} newly pruned`, color, group: run.run, role: "newly pruned" });
        lines.push({ label: `${run.run} regrown`, color, dash: [4, 3], width: 1.5, group: run.run, role: "regrown" });
      }
      lineChart(
        box,
        {
          title: weight,
          xLabel: "step",
          yLabel: "weights",
          lines,
          table: alignSeries(tables),
          yFormat: formatCountTick,
        },
        ctx.scope,
      );
    },
    () => convergenceCharts(convergence, ctx).then(() => overlapSection(overlap, ctx)),
  );
}

/** One chart per shown weight of the distance from the final mask, loaded one after the other. */
async function convergenceCharts(root: HTMLElement, ctx: ViewContext): Promise<void> {
  const weights = shownWeights(ctx).slice(0, MAX_WEIGHT_CHARTS);
  if (!weights.length) return;
  root.append(
    el("h3", {}, "Distance from the final mask"),
    el(
      "p",
      { class: "intro" },
      "The fraction of each recorded mask that differs from the run's last recorded mask. " +
        "The circle marks the early-bird step: from there the mask stays within 1% of its final state.",
    ),
  );
  const grid = el("div", { class: "chart-grid" });
  root.appendChild(grid);
  const slots = weights.map((weight) => {
    const box = chartBox("chart-convergence", weight);
    box.setAttribute("data-weight", weight);
    const body = el("div", { class: "chart-body" }, loadingState(weight));
    box.appendChild(body);
    grid.appendChild(box);
    return { weight, box, body };
  });
  for (const { weight, box, body } of slots) {
    if (!ctx.ticket.isCurrent()) return;
    const runs = ctx.shownRuns.filter((r) => r.weights.includes(weight)).map((r) => r.run);
    try {
      const answer = await ctx.api.maskConvergence(weight, runs);
      if (!ctx.ticket.isCurrent()) return;
      body.remove();
      if (!answer.series.length) {
        replaceChildren(box, noticeState(`No readable mask of ${weight} in the shown runs.`));
        continue;
      }
      const chart = convergenceChart(answer.series);
      drawnLineChart(
        box,
        {
          title: weight,
          xLabel: "step",
          yLabel: "differs from final",
          lines: chart.lines.map((l) => ({
            label: l.label,
            color: runColor(l.run),
            group: l.run,
            role: l.role,
            pointsOnly: l.role === "early bird",
          })),
          table: chart.table,
          yFormat: (v) => formatPercent(v, 1),
          readoutFormat: (v) => formatPercent(v, 2),
        },
        ctx.scope,
      );
      box.appendChild(
        el(
          "ul",
          { class: "early-bird", "data-testid": "early-bird" },
          ...answer.series.map((s) =>
            el("li", { "data-run": s.run, "data-step": String(s.early_bird_step) }, earlyBirdText(s, answer.limit)),
          ),
        ),
      );
    } catch (e) {
      if (ctx.ticket.isCurrent() && !isAbort(e)) replaceChildren(body, errorState(e, `the convergence of ${weight}`));
    }
  }
}
