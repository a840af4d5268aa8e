import { describe, expect, it } from "vitest";
import { readoutItems, type ReadoutLine } from "../src/transforms/readout";

const pct = (v: number) => `${(v * 100).toFixed(1)}%`;
const LINES: ReadoutLine[] = [
  { group: "poly", color: "#111", role: "" },
  { group: "poly", color: "#111", role: "target" },
  { group: "poly", color: "#111", role: "mask changed", pointsOnly: true },
  { group: "manual", color: "#222", role: "" },
  { group: "manual", color: "#222", role: "mask changed", pointsOnly: true },
];
const YS = [
  [0, 0.45, 0.5],
  [0, 0.5, 0.5],
  [null, 0.45, null],
  [0.1, null, 0.3],
  [null, null, null],
];

describe("readoutItems", () => {
  it("test_values_of_each_run_at_the_step_with_target_and_mask_change", () => {
    expect(readoutItems(LINES, YS, 1, pct)).toEqual([{ group: "poly", color: "#111", text: "poly 45.0% (target 50.0%, mask changed)" }]);
    expect(readoutItems(LINES, YS, 2, pct)).toEqual([
      { group: "poly", color: "#111", text: "poly 50.0% (target 50.0%)" },
      { group: "manual", color: "#222", text: "manual 30.0%" },
    ]);
  });
  it("test_a_run_without_a_value_at_the_step_is_left_out", () => {
    expect(readoutItems(LINES, YS, 1, pct).map((i) => i.group)).toEqual(["poly"]);
  });
  it("test_a_missing_first_value_shows_a_dash", () => {
    expect(readoutItems(LINES.slice(0, 2), [[null], [0.5]], 0, pct)).toEqual([
      { group: "poly", color: "#111", text: "poly \u2014 (target 50.0%)" },
    ]);
  });
  it("test_a_named_first_series_reads_with_its_role", () => {
    const lines: ReadoutLine[] = [
      { group: "poly", color: "#111", role: "newly pruned" },
      { group: "poly", color: "#111", role: "regrown" },
    ];
    expect(readoutItems(lines, [[3], [0]], 0, String)).toEqual([{ group: "poly", color: "#111", text: "poly newly pruned 3 (regrown 0)" }]);
  });
});
