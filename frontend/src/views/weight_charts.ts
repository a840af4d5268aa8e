// One chart per weight, runs overlaid: the layout shared by the Schedules and
// Mask stability views. Each chart loads its runs' /weight_series on its own
// and draws when they are in, so a slow or broken weight does not hold up
// the others.

import { isAbort, mapLimited } from "../api";
import type { RunInfo, WeightSeriesResponse } from "../types";
import { chartBox } from "../ui/chart";
import { el, replaceChildren } from "../ui/dom";
import { errorState, loadingState, noticeState } from "../ui/states";
import { shownWeights, type ViewContext } from "./view";

/** More charts than this is slow to draw and to read; the weight filter narrows them down. */
export const MAX_WEIGHT_CHARTS = 24;

export interface RunSeries {
  run: RunInfo;
  series: WeightSeriesResponse;
}

/**
 * Appends one chart box per shown weight (up to MAX_WEIGHT_CHARTS) to `root`
 * and calls `draw(box, weight, series)` once the weight's series are loaded.
 */
export function weightCharts(
  root: HTMLElement,
  ctx: ViewContext,
  testid: string,
  draw: (box: HTMLElement, weight: string, series: RunSeries[]) => void,
): void {
  const weights = shownWeights(ctx);
  if (!weights.length) {
    root.appendChild(
      ctx.shownRuns.length
        ? noticeState("No weight of the selected runs matches the weight filter.", "Change or clear the weight filter on the left.")
        : noticeState("No run is selected.", "Tick one or more runs on the left."),
    );
    return;
  }
  if (weights.length > MAX_WEIGHT_CHARTS) {
    root.appendChild(
      noticeState(
        `Showing the first ${MAX_WEIGHT_CHARTS} of ${weights.length} weights.`,
        "Narrow the weight filter on the left to see the others.",
      ),
    );
  }
  const grid = el("div", { class: "chart-grid" });
  root.appendChild(grid);
  const boxes = weights.slice(0, MAX_WEIGHT_CHARTS).map((w) => {
    const box = chartBox(testid, w);
    box.setAttribute("data-weight", w);
    const body = el("div", { class: "chart-body" }, loadingState(w));
    box.appendChild(body);
    grid.appendChild(box);
    return { weight: w, box, body };
  });
  void mapLimited(boxes, 4, async ({ weight, box, body }) => {
    const runs = ctx.shownRuns.filter((r) => r.weights.includes(weight));
    const results = await Promise.allSettled(runs.map((r) => ctx.api.weightSeries(r.run, weight)));
    if (!ctx.ticket.isCurrent()) return;
    const loaded: RunSeries[] = [];
    const failures: HTMLElement[] = [];
    results.forEach((res, i) => {
      if (res.status === "fulfilled") loaded.push({ run: runs[i]!, series: res.value });
      else if (!isAbort(res.reason)) failures.push(errorState(res.reason, `${runs[i]!.run}: ${weight}`));
    });
    body.remove();
    if (loaded.length) {
      try {
        draw(box, weight, loaded);
      } catch (e) {
        console.error(e);
        box.appendChild(errorState(e, `the chart of ${weight}`));
      }
    }
    for (const f of failures) box.appendChild(f);
    if (!loaded.length && !failures.length) replaceChildren(box, noticeState(`No series for ${weight}.`));
  });
}

/** Loads `/model_series` for each shown run; failed runs are reported, not thrown. */
export async function loadModelSeries(ctx: ViewContext) {
  const results = await Promise.allSettled(ctx.shownRuns.map((r) => ctx.api.modelSeries(r.run)));
  return results.map((res, i) => ({
    run: ctx.shownRuns[i]!,
    series: res.status === "fulfilled" ? res.value : null,
    error: res.status === "rejected" ? (res.reason as unknown) : null,
  }));
}

/** Whether an error is worth showing (an abort is the app's own doing). */
export function showable(e: unknown): boolean {
  return !isAbort(e);
}
