// Alerts of GET /alerts for the Overview: counts by kind per run (the badges), a
// label per kind, and the view state that shows an alert (its link).

import type { Alert, AlertKind } from "../types";
import { ALERT_KINDS } from "../types";
import { TABS, type TabId, type ViewState } from "./url_state";

/** What a badge calls each kind. */
export const ALERT_LABELS: Record<AlertKind, string> = {
  weight_collapse: "weight collapse",
  unit_collapse: "unit collapse",
  behind_target: "behind target",
  regrowth: "regrowth",
  nonfinite: "non-finite",
  metric_drop: "metric drop",
};

/** Per run, [kind, number of alerts] for the kinds it has, in ALERT_KINDS order. */
export function alertCounts(alerts: readonly Alert[]): Map<string, [AlertKind, number][]> {
  const byRun = new Map<string, Map<AlertKind, number>>();
  for (const a of alerts) {
    const counts = byRun.get(a.run) ?? new Map<AlertKind, number>();
    counts.set(a.kind, (counts.get(a.kind) ?? 0) + 1);
    byRun.set(a.run, counts);
  }
  const result = new Map<string, [AlertKind, number][]>();
  for (const [run, counts] of byRun) {
    result.set(
      run,
      ALERT_KINDS.filter((k) => counts.has(k)).map((k) => [k, counts.get(k)!] as [AlertKind, number]),
    );
  }
  return result;
}

/**
 * The state that shows `alert`: its view at its step, looking at its run and weight (or,
 * for a metric drop, its metric); the rest of `state` (run selection, filters) is kept.
 */
export function alertState(alert: Alert, state: Readonly<ViewState>): ViewState {
  const tab: TabId = (TABS as readonly string[]).includes(alert.view) ? (alert.view as TabId) : "overview";
  return {
    ...state,
    tab,
    focusRun: alert.run,
    focusWeight: alert.weight ?? state.focusWeight,
    step: alert.step,
    region: null,
    metric: alert.metric ?? state.metric,
  };
}
