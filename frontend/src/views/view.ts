// What every view gets from the app, and the shape of a view.

import type { Api, Ticket } from "../api";
import type { NameFilter } from "../transforms/filter";
import type { ViewState } from "../transforms/url_state";
import type { RunInfo } from "../types";
import type { Scope } from "../ui/scope";
import { noticeState } from "../ui/states";

export interface ViewContext {
  api: Api;
  state: Readonly<ViewState>;
  /** Every run /runs listed. */
  runs: readonly RunInfo[];
  /** The runs the user selected that also match the run filter, in /runs order. */
  shownRuns: readonly RunInfo[];
  weightFilter: NameFilter;
  /** Current until the view is rendered again; check before drawing anything that was awaited. */
  ticket: Ticket;
  /** Cleanups for charts, timers and listeners when the view is replaced. */
  scope: Scope;
  /** Changes the state and renders the view again. */
  setState(patch: Partial<ViewState>): void;
  /** Records state in the URL without rendering again (the view updates itself). */
  replaceState(patch: Partial<ViewState>): void;
}

/** Builds a view into `root` (already empty). */
export type View = (root: HTMLElement, ctx: ViewContext) => void;

/** The shown runs' weights that match the weight filter, in first-seen order. */
export function shownWeights(ctx: ViewContext): string[] {
  const seen = new Set<string>();
  for (const r of ctx.shownRuns) for (const w of r.weights) if (ctx.weightFilter.test(w)) seen.add(w);
  return [...seen];
}

/** What to show when shownWeights(ctx) is empty: no run selected, or the weight filter matches none. */
export function noWeightNotice(ctx: ViewContext): HTMLElement {
  return ctx.shownRuns.length
    ? noticeState("No weight of the selected runs matches the weight filter.", "Change or clear the weight filter on the left.")
    : noticeState("No run is selected.", "Tick one or more runs on the left.");
}
