// Accuracy vs sparsity: per run, a chosen metric against the model's global
// sparsity over training; across runs, the final points and their Pareto
// front. The x axis is sparsity, or percent of weights remaining on a log
// scale, where the high-sparsity end is spread out.

import { isAbort } from "../api";
import { runColor } from "../ui/run_colors";
import { formatCount, formatNumber, formatPercent } from "../transforms/format";
import {
  defaultMetric,
  joinMetricWithSparsity,
  metricLowerIsBetter,
  metricKeys,
  sparsityToX,
  splitMetricKey,
  type MetricPoint,
} from "../transforms/metrics";
import { paretoFront } from "../transforms/pareto";
import type { XAxisMode } from "../transforms/url_state";
import type { RunInfo } from "../types";
import { chartBox, xyChart, type XYSpec } from "../ui/chart";
import { el, select, swatch } from "../ui/dom";
import { lineKey } from "../ui/line_key";
import { metricControls } from "../ui/metric_controls";
import { chartColors } from "../ui/theme";
import { errorState, loadingState, noticeState } from "../ui/states";
import type { ViewContext } from "./view";

interface RunPoints {
  run: RunInfo;
  points: MetricPoint[];
}

export function accuracyView(root: HTMLElement, ctx: ViewContext): void {
  if (!ctx.shownRuns.length) {
    root.appendChild(noticeState("No run is selected.", "Tick one or more runs on the left."));
    return;
  }
  const keys = metricKeys(ctx.shownRuns);
  if (!keys.length) {
    root.appendChild(
      noticeState(
        "The selected runs recorded no training metrics.",
        "PruningMonitor records the metrics Keras reports to callbacks; compile the model with metrics=[...] and train with it.",
      ),
    );
    return;
  }
  const metric = ctx.state.metric !== null && keys.includes(ctx.state.metric) ? ctx.state.metric : defaultMetric(keys)!;
  const parsed = splitMetricKey(metric)!;
  const minimize = metricLowerIsBetter(parsed.name, ctx.state.better);
  const xMode = ctx.state.xAxis;

  const xSelect = select(
    { id: "x-axis", "data-testid": "x-axis-select" },
    [
      ["sparsity", "sparsity"],
      ["remaining", "% of weights remaining (log)"],
    ],
    xMode,
  );
  xSelect.addEventListener("change", () => ctx.setState({ xAxis: xSelect.value as XAxisMode }));
  root.append(
    el(
      "div",
      { class: "controls" },
      ...metricControls("metric", keys, metric, minimize, (patch) => ctx.setState(patch)),
      el("label", { for: "x-axis" }, "x axis "),
      xSelect,
    ),
  );
  const body = el("div", {}, loadingState("metrics and sparsity"));
  root.appendChild(body);

  const runs = ctx.shownRuns.filter((r) => r.metrics[parsed.scope]?.includes(parsed.name));
  // Global sparsity of every run in one request (the Schedules view asks for the same, so
  // switching between the two views reads it once).
  const models = ctx.api.modelSeriesMulti(
    runs.map((r) => r.run),
    ["global_sparsity"],
  );
  void Promise.allSettled(
    runs.map(async (run, i): Promise<RunPoints> => {
      const [metrics, model] = await Promise.all([ctx.api.metrics(run.run), models.then((m) => m[i])]);
      const series = metrics[parsed.scope][parsed.name];
      if (!series || !model) return { run, points: [] };
      return {
        run,
        points: joinMetricWithSparsity(series.steps, series.values, model.steps, model.fields.global_sparsity ?? []),
      };
    }),
  ).then((results) => {
    if (!ctx.ticket.isCurrent()) return;
    body.replaceChildren();
    const loaded: RunPoints[] = [];
    results.forEach((res, i) => {
      if (res.status === "fulfilled") loaded.push(res.value);
      else if (!isAbort(res.reason)) body.appendChild(errorState(res.reason, `${runs[i]!.run}: ${metric}`));
    });
    const withPoints = loaded.filter((l) => l.points.length);
    const missing = ctx.shownRuns.length - runs.length;
    if (missing) {
      body.appendChild(noticeState(`${missing} selected run(s) did not record ${metric} and are not shown.`));
    }
    if (!withPoints.length) {
      body.appendChild(
        noticeState(
          `No ${metric} value could be paired with a global sparsity.`,
          "Values count from the first step at which the model's sparsity was recorded; press Refresh as training goes on.",
        ),
      );
      return;
    }
    draw(body, withPoints, metric, minimize, xMode, ctx);
  });
}

function draw(body: HTMLElement, runs: RunPoints[], metric: string, minimize: boolean, xMode: XAxisMode, ctx: ViewContext): void {
  const xLabel = xMode === "sparsity" ? "global sparsity" : "% of weights remaining (log scale)";
  const xFormat = xMode === "sparsity" ? (v: number) => formatPercent(v, 0) : (v: number) => `${formatNumber(v)}%`;
  const toXY = (pts: MetricPoint[]) => {
    const xs: number[] = [];
    const ys: number[] = [];
    for (const p of pts) {
      const x = sparsityToX(p.sparsity, xMode);
      if (x !== null) {
        xs.push(x);
        ys.push(p.value);
      }
    }
    return { xs, ys };
  };

  const trajectories: XYSpec[] = runs.map((r) => ({
    label: r.run.run,
    color: runColor(r.run.run),
    ...toXY(r.points),
    line: true,
    points: true,
  }));
  body.appendChild(
    lineKey([
      ["solid", "a run during training, a dot per recorded value"],
      ["circle", "a run's final value"],
      ["dashed", "Pareto front of the final values"],
    ], false),
  );
  const over = chartBox("chart-accuracy-training", `${metric} against global sparsity during training`);
  body.appendChild(over);
  xyChart(over, { title: "", xLabel, yLabel: metric, xLog: xMode === "remaining", xFormat, series: trajectories }, ctx.scope);

  const finals = runs.map((r) => ({ run: r.run, point: r.points[r.points.length - 1]! }));
  const front = new Set(paretoFront(finals.map((f) => ({ sparsity: f.point.sparsity, value: f.point.value })), minimize));
  const frontOrdered = [...front].sort((a, b) => finals[a]!.point.sparsity - finals[b]!.point.sparsity);
  const frontXY = toXY(frontOrdered.map((i) => finals[i]!.point));
  const finalSeries: XYSpec[] = finals.map((f) => ({
    label: f.run.run,
    color: runColor(f.run.run),
    ...toXY([f.point]),
    line: false,
    points: true,
  }));
  finalSeries.push({ label: "Pareto front", color: chartColors().foreground, ...frontXY, line: true, points: false, dash: [6, 4] });
  const final = chartBox("chart-accuracy-pareto", `Final ${metric} of each run, and the Pareto front`);
  body.appendChild(final);
  xyChart(final, { title: "", xLabel, yLabel: metric, xLog: xMode === "remaining", xFormat, series: finalSeries }, ctx.scope);

  const rows = finals.map((f, i) =>
    el(
      "tr",
      { "data-testid": "pareto-row", "data-run": f.run.run, "data-front": String(front.has(i)) },
      el("td", {}, swatch(runColor(f.run.run)), f.run.run),
      el("td", { class: "num" }, formatCount(f.point.step)),
      el("td", { class: "num" }, formatPercent(f.point.sparsity)),
      el("td", { class: "num" }, formatNumber(f.point.value)),
      el("td", {}, front.has(i) ? "on the front" : ""),
    ),
  );
  const table = el(
    "table",
    { class: "data", "data-testid": "pareto-table", "data-better": minimize ? "lower" : "higher" },
    el(
      "thead",
      {},
      el("tr", {}, ...["Run", "Last step", "Global sparsity", metric, "Pareto"].map((t) => el("th", { scope: "col" }, t))),
    ),
    el("tbody", {}, ...rows),
  );
  body.append(
    el(
      "p",
      { class: "hint" },
      `A run is on the front when no other run is both sparser and better in ${metric} (${minimize ? "lower" : "higher"} is better). ` +
        "Each metric value is paired with the global sparsity at the latest recorded step at or before it.",
    ),
    table,
  );
}
