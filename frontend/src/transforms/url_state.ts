// The view's state in the iframe's location hash, so a view can be shared or
// bookmarked and survives TensorBoard reloading the iframe. Only values that
// differ from the defaults are written, keeping shared links short.

import type { Region } from "../types";

export const TABS = ["overview", "schedules", "masks", "accuracy", "distributions", "stability", "structure", "configuration", "statistics", "sensitivity"] as const;
export type TabId = (typeof TABS)[number];

export type XAxisMode = "sparsity" | "remaining";

/** Everything the user chose that a shared link should restore. */
export interface ViewState {
  tab: TabId;
  /** Selected runs; null means "every run" (the default, which also takes in new runs). */
  runs: string[] | null;
  runFilter: string;
  weightFilter: string;
  /** The run and weight the Masks and Distributions views look at. */
  focusRun: string | null;
  focusWeight: string | null;
  /** The Masks view's step; null means the last recorded mask. */
  step: number | null;
  diff: boolean;
  /** The run the Masks view compares the focused run with; null: none. */
  compare: string | null;
  /** The Masks view's zoom region; null means the whole layout. */
  region: Region | null;
  /** "<scope>/<name>", e.g. "epoch/val_accuracy"; null means the default metric. */
  metric: string | null;
  /** Whether lower values of the metric are better; null: as its name says (lowerIsBetter). */
  better: "lower" | "higher" | null;
  xAxis: XAxisMode;
}

export const DEFAULT_STATE: Readonly<ViewState> = Object.freeze({
  tab: "overview",
  runs: null,
  runFilter: "",
  weightFilter: "",
  focusRun: null,
  focusWeight: null,
  step: null,
  diff: true,
  compare: null,
  region: null,
  metric: null,
  better: null,
  xAxis: "sparsity",
});

function parseInteger(text: string | null): number | null {
  if (text === null || !/^-?\d+$/.test(text)) return null;
  return Number(text);
}

function parseRegion(text: string | null): Region | null {
  if (!text) return null;
  const parts = text.split(",").map((p) => parseInteger(p));
  if (parts.length !== 4 || parts.some((p) => p === null)) return null;
  const [row0, col0, rows, cols] = parts as number[];
  if (row0! < 0 || col0! < 0 || rows! < 1 || cols! < 1) return null;
  return { row0: row0!, col0: col0!, rows: rows!, cols: cols! };
}

/** The hash for a state, without the leading "#"; "" for the defaults. */
export function encodeState(state: ViewState): string {
  const q = new URLSearchParams();
  if (state.tab !== DEFAULT_STATE.tab) q.append("tab", state.tab);
  if (state.runs !== null) {
    if (state.runs.length === 0) q.append("norun", "1");
    for (const run of state.runs) q.append("run", run);
  }
  if (state.runFilter) q.append("runFilter", state.runFilter);
  if (state.weightFilter) q.append("weightFilter", state.weightFilter);
  if (state.focusRun !== null) q.append("focusRun", state.focusRun);
  if (state.focusWeight !== null) q.append("focusWeight", state.focusWeight);
  if (state.step !== null) q.append("step", String(state.step));
  if (!state.diff) q.append("diff", "0");
  if (state.compare !== null) q.append("compare", state.compare);
  if (state.region) {
    const r = state.region;
    q.append("region", `${r.row0},${r.col0},${r.rows},${r.cols}`);
  }
  if (state.metric !== null) q.append("metric", state.metric);
  if (state.better !== null) q.append("better", state.better);
  if (state.xAxis !== DEFAULT_STATE.xAxis) q.append("x", state.xAxis);
  return q.toString();
}

/** The state a hash describes; anything unreadable falls back to its default. */
export function decodeState(hash: string): ViewState {
  const q = new URLSearchParams(hash.startsWith("#") ? hash.slice(1) : hash);
  const tab = q.get("tab");
  const runs = q.getAll("run");
  return {
    tab: (TABS as readonly string[]).includes(tab ?? "") ? (tab as TabId) : DEFAULT_STATE.tab,
    runs: runs.length ? runs : q.get("norun") === "1" ? [] : null,
    runFilter: q.get("runFilter") ?? "",
    weightFilter: q.get("weightFilter") ?? "",
    focusRun: q.get("focusRun"),
    focusWeight: q.get("focusWeight"),
    step: parseInteger(q.get("step")),
    diff: q.get("diff") !== "0",
    compare: q.get("compare") || null,
    region: parseRegion(q.get("region")),
    metric: q.get("metric"),
    better: q.get("better") === "lower" ? "lower" : q.get("better") === "higher" ? "higher" : null,
    xAxis: q.get("x") === "remaining" ? "remaining" : "sparsity",
  };
}
