// Configuration: the schedule preview, the sparsity each shown run's masks are planned to
// reach, recomputed from the run's configuration as TF-MOT computes it
// (transforms/schedule.ts), from step 0 to the schedule's end step, also beyond the last
// recorded step of a training still running, beside the run's actual global sparsity; and
// each run's pruning configuration from its run_config record (schedule and its parameters,
// block and N:M settings, optimizer), runs side by side (a setting no shown run uses is left
// out).

import { ApiError, isAbort } from "../api";
import { MISSING, formatPercent } from "../transforms/format";
import { CONFIG_ROWS, configColumns, type ConfigColumn } from "../transforms/run_config";
import { previewOverlay } from "../transforms/overlay";
import type { RunConfig, RunInfo } from "../types";
import { chartBox } from "../ui/chart";
import { el, replaceChildren, swatch } from "../ui/dom";
import { runColor } from "../ui/run_colors";
import { errorState, loadingState, noticeState } from "../ui/states";
import { drawnLineChart } from "./drawn";
import type { ViewContext } from "./view";
import { loadModelSeries, showable } from "./weight_charts";

/** A run's configuration, or null when it has none (a 404 of /config). */
function loadConfig(ctx: ViewContext, run: RunInfo): Promise<{ run: string; config: RunConfig | null }> {
  return ctx.api.config(run.run).then(
    (config) => ({ run: run.run, config }),
    (e) => {
      if (e instanceof ApiError && e.status === 404) return { run: run.run, config: null };
      throw e;
    },
  );
}

export function configurationView(root: HTMLElement, ctx: ViewContext): void {
  if (!ctx.shownRuns.length) {
    root.appendChild(noticeState("No run is selected.", "Tick one or more runs on the left."));
    return;
  }
  const tableBody = el("div", { class: "config-scroll" }, loadingState("the runs' configuration"));
  const preview = chartBox("chart-schedule-preview", "Schedule preview");
  const previewBody = el("div", { class: "chart-body" }, loadingState("the schedule preview"));
  preview.appendChild(previewBody);
  root.append(
    el(
      "p",
      { class: "intro" },
      "Dashed: the sparsity the schedule sets the masks to, from its configuration, up to its end step " +
        "(TF-MOT prunes every `frequency` steps from the begin step); solid: the run's actual global sparsity. " +
        "A run whose weights follow different schedules has a dashed line per schedule.",
    ),
    preview,
    el("h2", {}, "Configuration"),
    tableBody,
  );

  const configs = Promise.all(ctx.shownRuns.map((r) => loadConfig(ctx, r)));
  configs.then(
    (loaded) => {
      if (ctx.ticket.isCurrent()) replaceChildren(tableBody, configTable(configColumns(loaded)));
    },
    (e) => {
      if (ctx.ticket.isCurrent() && showable(e)) replaceChildren(tableBody, errorState(e, "the runs' configuration"));
    },
  );
  Promise.all([configs, loadModelSeries(ctx, ["global_sparsity"])]).then(
    ([loaded, actual]) => {
      if (!ctx.ticket.isCurrent()) return;
      previewBody.remove();
      drawPreview(preview, configColumns(loaded), actual, ctx);
    },
    (e) => {
      if (ctx.ticket.isCurrent() && !isAbort(e)) replaceChildren(previewBody, errorState(e, "the schedule preview"));
    },
  );
}

function configTable(columns: ConfigColumn[]): HTMLElement {
  const groups = new Map<string, number>();
  for (const c of columns) groups.set(c.run, (groups.get(c.run) ?? 0) + 1);
  const head = el(
    "tr",
    {},
    el("th", { scope: "col" }, ""),
    ...columns.map((c) =>
      el(
        "th",
        { scope: "col", "data-testid": "config-column", "data-run": c.run, "data-group": c.group },
        swatch(runColor(c.run)),
        groups.get(c.run)! > 1 ? `${c.run} (${c.group + 1})` : c.run,
      ),
    ),
  );
  // A setting none of the shown runs uses (e.g. block pooling) is left out.
  const used = CONFIG_ROWS.filter(([key]) => columns.some((c) => c.cells[key] !== MISSING));
  const rows = used.map(([key, label]) =>
    el(
      "tr",
      { "data-row": key },
      el("th", { scope: "row" }, label),
      ...columns.map((c) =>
        el("td", { "data-testid": "config-cell", "data-run": c.run, "data-group": c.group, "data-row": key }, c.cells[key]),
      ),
    ),
  );
  return el("table", { class: "data config", "data-testid": "config-table" }, el("thead", {}, head), el("tbody", {}, ...rows));
}

function drawPreview(
  box: HTMLElement,
  columns: ConfigColumn[],
  actual: Awaited<ReturnType<typeof loadModelSeries>>,
  ctx: ViewContext,
): void {
  const chart = previewOverlay(
    columns,
    ctx.shownRuns.map((r) => r.last_step),
    actual.map((a) => ({ run: a.run.run, series: a.series })),
    runColor,
  );
  if (!chart.planned) {
    box.appendChild(
      noticeState(
        "None of the selected runs has a schedule to preview.",
        "TF-MOT runs (PolynomialDecay, ConstantSparsity, N:M) have one; manual pruning has none.",
      ),
    );
    if (!chart.lines.length) return;
  }
  drawnLineChart(
    box,
    { title: "Schedule preview", xLabel: "step", yLabel: "sparsity", lines: chart.lines, table: chart.table, yRange: [0, 1], yFormat: (v) => formatPercent(v, 0) },
    ctx.scope,
  );
}
