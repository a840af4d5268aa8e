// The metric select and its "which values are better" select, as the Accuracy vs sparsity and
// Sensitivity views show them; both write the view state's `metric` and `better`.

import { el, select } from "./dom";

export interface MetricChoice {
  metric?: string;
  better?: "lower" | "higher" | null;
}

/**
 * The label and select of the metric (options `keys`, `metric` selected) and the direction
 * select, with element ids `id` and `${id}-better`. A new metric starts from its own
 * direction (the name's), not the previous metric's choice.
 */
export function metricControls(
  id: string,
  keys: readonly string[],
  metric: string,
  lowerBetter: boolean,
  setState: (patch: MetricChoice) => void,
): HTMLElement[] {
  const metricSelect = select({ id, "data-testid": "metric-select" }, keys.map((k) => [k, k] as const), metric);
  metricSelect.addEventListener("change", () => setState({ metric: metricSelect.value, better: null }));
  const betterSelect = select(
    { id: `${id}-better`, "data-testid": "metric-better" },
    [
      ["higher", "higher is better"],
      ["lower", "lower is better"],
    ],
    lowerBetter ? "lower" : "higher",
  );
  betterSelect.addEventListener("change", () => setState({ better: betterSelect.value as "lower" | "higher" }));
  return [
    el("label", { for: id }, "Metric "),
    metricSelect,
    el("label", { for: `${id}-better`, class: "visually-hidden" }, "Which values are better"),
    betterSelect,
  ];
}
