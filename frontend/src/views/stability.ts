// Mask stability: how many weights each recorded step newly pruned and
// regrew (kept again), per weight with runs overlaid. A mask that keeps
// churning late in training is a schedule or learning-rate problem.

import { runColor } from "../ui/run_colors";
import { formatCountTick } from "../transforms/format";
import { alignSeries, type XYTable } from "../transforms/series";
import { lineChart, type LineSpec } from "../ui/chart";
import { el } from "../ui/dom";
import { lineKey } from "../ui/line_key";
import type { ViewContext } from "./view";
import { weightCharts } from "./weight_charts";

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
  weightCharts(root, ctx, "chart-stability", ["newly_pruned", "regrown"], (box, weight, loaded) => {
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
  });
}
