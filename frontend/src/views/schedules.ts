// Schedules: actual sparsity against the schedule's target over steps, per
// weight with runs overlaid (run colour; target dashed), the steps where the
// mask changed marked; and the model's global sparsity per run.

import { runColor } from "../ui/run_colors";
import { formatPercent } from "../transforms/format";
import { alignSeries, maskChangeMarkers, type XYTable } from "../transforms/series";
import { chartBox, lineChart, type LineSpec } from "../ui/chart";
import { el, replaceChildren } from "../ui/dom";
import { lineKey } from "../ui/line_key";
import { errorState, loadingState, noticeState } from "../ui/states";
import type { ViewContext } from "./view";
import { loadModelSeries, showable, weightCharts } from "./weight_charts";

const pct = (v: number) => formatPercent(v, 0);

/** Sparsity (0 to 1) over steps, the runs' tables joined on their steps. */
function sparsityChart(box: HTMLElement, title: string, lines: LineSpec[], tables: XYTable[], ctx: ViewContext, markX: number | null = null): void {
  lineChart(
    box,
    {
      title,
      xLabel: "step",
      yLabel: "sparsity",
      lines,
      table: alignSeries(tables),
      yRange: [0, 1],
      yFormat: pct,
      readoutFormat: (v) => formatPercent(v, 1),
      markX,
    },
    ctx.scope,
  );
}

/** What a schedule chart draws, the only fields it asks for (mask changes come as mask_change_steps). */
const SCHEDULE_FIELDS = ["sparsity", "target_sparsity"] as const;

export function schedulesView(root: HTMLElement, ctx: ViewContext): void {
  root.appendChild(
    lineKey([
      ["solid", "actual sparsity"],
      ["dashed", "target"],
      ["circle", "mask changed"],
    ]),
  );
  if (!ctx.shownRuns.length) {
    root.appendChild(noticeState("No run is selected.", "Tick one or more runs on the left."));
    return;
  }
  const global = chartBox("chart-global-sparsity", "Global sparsity (all pruned weights)");
  const globalBody = el("div", { class: "chart-body" }, loadingState("global sparsity"));
  global.appendChild(globalBody);
  root.appendChild(global);
  const loadGlobal = () =>
    loadModelSeries(ctx, ["global_sparsity"]).then(
      (results) => {
        if (!ctx.ticket.isCurrent()) return;
        globalBody.remove();
        const tables: XYTable[] = [];
        const lines: LineSpec[] = [];
        for (const r of results) {
          if (r.series && r.series.steps.length) {
            tables.push({ x: r.series.steps, ys: [r.series.fields.global_sparsity ?? []] });
            lines.push({ label: r.run.run, color: runColor(r.run.run) });
          }
        }
        if (!lines.length) {
          global.appendChild(noticeState("No model-wide figures recorded yet."));
          return;
        }
        sparsityChart(global, "Global sparsity", lines, tables, ctx);
      },
      (e) => {
        if (ctx.ticket.isCurrent() && showable(e)) replaceChildren(globalBody, errorState(e, "global sparsity"));
      },
    );

  // The global chart is asked for once the first weight's chart is in (see weightCharts).
  weightCharts(root, ctx, "chart-schedule", SCHEDULE_FIELDS, (box, weight, loaded) => {
    const tables: XYTable[] = [];
    const lines: LineSpec[] = [];
    for (const { run, series } of loaded) {
      const color = runColor(run.run);
      const f = series.fields;
      const sparsity = f.sparsity ?? [];
      const target = f.target_sparsity ?? [];
      const hasTarget = target.some((v) => v !== null);
      const ys = [sparsity];
      const group = run.run;
      lines.push({ label: `${run.run} sparsity`, color, group });
      if (hasTarget) {
        ys.push(target);
        lines.push({ label: `${run.run} target`, color, dash: [6, 4], width: 1.5, group, role: "target" });
      }
      ys.push(maskChangeMarkers(series.steps, sparsity, series.mask_change_steps ?? []));
      lines.push({ label: `${run.run} mask changed`, color, pointsOnly: true, group, role: "mask changed" });
      tables.push({ x: series.steps, ys });
    }
    // The step in the URL (e.g. an alert's) is marked on the chart of the weight looked at.
    sparsityChart(box, weight, lines, tables, ctx, weight === ctx.state.focusWeight ? ctx.state.step : null);
  }, loadGlobal);
  // An alert's link names a weight and a step: its chart is brought into view.
  if (ctx.state.focusWeight !== null && ctx.state.step !== null) {
    const focused = [...root.querySelectorAll<HTMLElement>("figure[data-testid=chart-schedule]")].find(
      (f) => f.getAttribute("data-weight") === ctx.state.focusWeight,
    );
    focused?.scrollIntoView({ block: "center" });
  }
}
