// One chart per weight, runs overlaid: the layout shared by the Schedules and
// Mask stability views. Each chart asks for its weight in every shown run with
// one /weight_series_multi request (only the fields it draws) and draws as soon
// as that is in, so a slow or broken weight does not hold up the others. Charts
// load in page order, the first alone, then two at a time; one that scrolls
// into view goes next.

import { isAbort } from "../api";
import { LoadQueue } from "../transforms/load_queue";
import type { ModelStatsField, RunInfo, RunSeriesEntry, WeightStatsField } from "../types";
import { chartBox } from "../ui/chart";
import { el, replaceChildren } from "../ui/dom";
import { errorState, loadingState, noticeState } from "../ui/states";
import { noWeightNotice, shownWeights, type ViewContext } from "./view";

/** More charts than this is slow to draw and to read; the weight filter narrows them down. */
export const MAX_WEIGHT_CHARTS = 24;

/**
 * Charts loading at once. More would not come sooner (TensorBoard reads them on
 * the same cores) and would delay the chart the user scrolls to.
 */
const CONCURRENT_CHARTS = 2;

export interface RunSeries {
  run: RunInfo;
  series: RunSeriesEntry<WeightStatsField>;
}

interface ChartSlot {
  weight: string;
  box: HTMLElement;
  body: HTMLElement;
}

/**
 * Appends one chart box per shown weight (up to MAX_WEIGHT_CHARTS) to `root`
 * and calls `draw(box, weight, series)` once the weight's `fields` are loaded
 * for the shown runs that have it. `then`, the view's other request (e.g. a
 * chart above these), starts once the first chart is done, taking one of the
 * two places in flight; at once when there is no chart.
 */
export function weightCharts(
  root: HTMLElement,
  ctx: ViewContext,
  testid: string,
  fields: readonly WeightStatsField[],
  draw: (box: HTMLElement, weight: string, series: RunSeries[]) => void,
  then?: () => Promise<unknown>,
): void {
  const weights = shownWeights(ctx);
  if (!weights.length) {
    root.appendChild(noWeightNotice(ctx));
    void then?.();
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
  const slots: ChartSlot[] = weights.slice(0, MAX_WEIGHT_CHARTS).map((w) => {
    const box = chartBox(testid, w);
    box.setAttribute("data-weight", w);
    const body = el("div", { class: "chart-body" }, loadingState(w));
    box.appendChild(body);
    grid.appendChild(box);
    return { weight: w, box, body };
  });

  /** Loads and draws one chart; calls `fetched` once the answer is in, before drawing. */
  const load = async ({ weight, box, body }: ChartSlot, fetched: () => void): Promise<void> => {
    const runs = ctx.shownRuns.filter((r) => r.weights.includes(weight));
    let entries: (RunSeriesEntry<WeightStatsField> | null)[];
    try {
      entries = await ctx.api.weightSeriesMulti(
        weight,
        runs.map((r) => r.run),
        fields,
      );
    } catch (e) {
      if (ctx.ticket.isCurrent() && !isAbort(e)) replaceChildren(body, errorState(e, `the series of ${weight}`));
      return;
    }
    fetched();
    if (!ctx.ticket.isCurrent()) return;
    body.remove();
    const loaded: RunSeries[] = [];
    entries.forEach((series, i) => {
      if (series) loaded.push({ run: runs[i]!, series });
    });
    if (!loaded.length) {
      replaceChildren(box, noticeState(`No series for ${weight}.`));
      return;
    }
    try {
      draw(box, weight, loaded);
    } catch (e) {
      console.error(e);
      box.appendChild(errorState(e, `the chart of ${weight}`));
    }
  };

  const queue = new LoadQueue(slots);
  let active = 0;
  let finished = 0;
  let extra = then;
  const pump = () => {
    // The first chart loads alone: TensorBoard answers concurrent requests about as fast as
    // one after the other, so a second one would only delay it. A chart's place is given up
    // when its answer is in, so the next request runs on the server while the chart draws.
    while (active < (finished ? CONCURRENT_CHARTS : 1) && ctx.ticket.isCurrent()) {
      let released = false;
      const release = () => {
        if (released) return;
        released = true;
        active--;
        finished++;
        pump();
      };
      let job: Promise<unknown>;
      if (finished && extra) {
        job = extra();
        extra = undefined;
      } else {
        const slot = queue.take();
        if (!slot) return;
        job = load(slot, release);
      }
      active++;
      void job.catch(() => undefined).finally(release);
    }
  };
  const slotOf = new Map(slots.map((s) => [s.box as Element, s]));
  const observer = new IntersectionObserver(
    (entries) =>
      queue.bump(
        entries
          .filter((e) => e.isIntersecting)
          .map((e) => slotOf.get(e.target)!)
          .sort((a, b) => slots.indexOf(a) - slots.indexOf(b)),
      ),
    { rootMargin: "100px 0px" },
  );
  for (const s of slots) observer.observe(s.box);
  ctx.scope.add(() => observer.disconnect());
  pump();
}

/**
 * `fields` of the model-wide series of each shown run (null for a run without
 * any), with one /model_series_multi request; rejects when that fails.
 */
export async function loadModelSeries(
  ctx: ViewContext,
  fields: readonly ModelStatsField[],
): Promise<{ run: RunInfo; series: RunSeriesEntry<ModelStatsField> | null }[]> {
  const entries = await ctx.api.modelSeriesMulti(
    ctx.shownRuns.map((r) => r.run),
    fields,
  );
  return entries.map((series, i) => ({ run: ctx.shownRuns[i]!, series }));
}

/** Whether an error is worth showing (an abort is the app's own doing). */
export function showable(e: unknown): boolean {
  return !isAbort(e);
}
