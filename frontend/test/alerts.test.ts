import { describe, expect, it } from "vitest";
import { alertCounts, alertState } from "../src/transforms/alerts";
import { DEFAULT_STATE, encodeState } from "../src/transforms/url_state";
import type { Alert } from "../src/types";

function alert(run: string, kind: Alert["kind"], rest: Partial<Alert> = {}): Alert {
  return {
    run,
    kind,
    weight: "fc/kernel",
    metric: null,
    step: 4,
    view: "masks",
    count: 1,
    total: 640,
    value: null,
    reference: null,
    message: "m",
    ...rest,
  };
}

describe("alerts", () => {
  it("test_counts_by_run_in_kind_order", () => {
    const counts = alertCounts([
      alert("b", "metric_drop"),
      alert("a", "nonfinite"),
      alert("b", "unit_collapse"),
      alert("b", "metric_drop"),
    ]);
    expect([...counts.entries()]).toEqual([
      ["b", [["unit_collapse", 1], ["metric_drop", 2]]],
      ["a", [["nonfinite", 1]]],
    ]);
  });
  it("test_weight_alert_links_to_its_view_weight_and_step", () => {
    const state = { ...DEFAULT_STATE, runs: ["a", "b"], weightFilter: "fc", region: { row0: 0, col0: 0, rows: 2, cols: 2 } };
    const s = alertState(alert("a", "unit_collapse", { weight: "hidden/kernel", step: 80 }), state);
    expect(encodeState(s)).toBe("tab=masks&run=a&run=b&weightFilter=fc&focusRun=a&focusWeight=hidden%2Fkernel&step=80");
  });
  it("test_metric_drop_links_to_its_metric_and_keeps_the_focused_weight", () => {
    const state = { ...DEFAULT_STATE, focusWeight: "x/kernel" };
    const s = alertState(alert("a", "metric_drop", { weight: null, metric: "epoch/val_loss", step: 32, view: "accuracy" }), state);
    expect(encodeState(s)).toBe("tab=accuracy&focusRun=a&focusWeight=x%2Fkernel&step=32&metric=epoch%2Fval_loss");
  });
  it("test_unknown_view_falls_back_to_the_overview", () => {
    expect(alertState(alert("a", "nonfinite", { view: "nothing" }), DEFAULT_STATE).tab).toBe("overview");
  });
});
