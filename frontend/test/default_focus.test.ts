import { describe, expect, it } from "vitest";
import { defaultFocus } from "../src/transforms/default_focus";
import { OVERVIEW } from "./fixtures";
import type { OverviewResponse } from "../src/types";

const CANDIDATES = [
  { run: "manual_const", weights: ["dense/kernel"] },
  { run: "tfmot_poly", weights: ["dense_1/kernel", "dense/kernel"] },
];

describe("defaultFocus", () => {
  it("test_most_pruned_run_and_its_largest_pruned_weight", () => {
    // tfmot_poly: global sparsity 0.89 against 0.5; dense/kernel (2048) is larger than dense_1/kernel (320).
    expect(defaultFocus(OVERVIEW, CANDIDATES)).toEqual({ run: "tfmot_poly", weight: "dense/kernel" });
  });
  it("test_an_explicit_run_and_weight_win", () => {
    expect(defaultFocus(OVERVIEW, CANDIDATES, "manual_const", null)).toEqual({ run: "manual_const", weight: "dense/kernel" });
    expect(defaultFocus(OVERVIEW, CANDIDATES, "tfmot_poly", "dense_1/kernel")).toEqual({ run: "tfmot_poly", weight: "dense_1/kernel" });
    // A weight the run does not have (filtered out) is replaced; an unknown run too.
    expect(defaultFocus(OVERVIEW, CANDIDATES, "gone", "nope")).toEqual({ run: "tfmot_poly", weight: "dense/kernel" });
  });
  it("test_unpruned_weights_are_passed_over_and_ties_keep_order", () => {
    const overview: OverviewResponse = {
      runs: [
        { ...OVERVIEW.runs[0]!, run: "a", global_sparsity: 0.5 },
        { ...OVERVIEW.runs[0]!, run: "b", global_sparsity: 0.5 },
      ],
      rows: [
        { ...OVERVIEW.rows[0]!, run: "a", weight: "big", size: 9000, sparsity: 0 },
        { ...OVERVIEW.rows[0]!, run: "a", weight: "x", size: 100, sparsity: 0.5 },
        { ...OVERVIEW.rows[0]!, run: "a", weight: "y", size: 100, sparsity: 0.5 },
      ],
    };
    const c = [
      { run: "a", weights: ["big", "x", "y"] },
      { run: "b", weights: ["z"] },
    ];
    expect(defaultFocus(overview, c)).toEqual({ run: "a", weight: "x" });
  });
  it("test_without_an_overview_the_first_run_and_weight", () => {
    expect(defaultFocus(null, CANDIDATES)).toEqual({ run: "manual_const", weight: "dense/kernel" });
    expect(defaultFocus(OVERVIEW, [])).toBeNull();
  });
});
