import { describe, expect, it } from "vitest";
import { compareValues, sortRows } from "../src/transforms/sorting";
import { OVERVIEW } from "./fixtures";

describe("sortRows", () => {
  it("test_sort_numbers_both_directions", () => {
    const asc = sortRows(OVERVIEW.rows, "sparsity", "asc").map((r) => r.sparsity);
    expect(asc).toEqual([0.5, 0.828125, 0.8999]);
    const desc = sortRows(OVERVIEW.rows, "sparsity", "desc").map((r) => r.sparsity);
    expect(desc).toEqual([0.8999, 0.828125, 0.5]);
  });
  it("test_missing_values_sort_last_in_both_directions", () => {
    const asc = sortRows(OVERVIEW.rows, "threshold", "asc").map((r) => r.threshold);
    expect(asc).toEqual([0.117, null, null]);
    const desc = sortRows(OVERVIEW.rows, "threshold", "desc").map((r) => r.threshold);
    expect(desc).toEqual([0.117, null, null]);
  });
  it("test_sort_is_stable_on_ties", () => {
    const byTarget = sortRows(OVERVIEW.rows, "target_sparsity", "asc").map((r) => r.weight);
    expect(byTarget).toEqual(["dense/kernel", "dense_1/kernel", "dense/kernel"]);
    expect(sortRows(OVERVIEW.rows, "target_sparsity", "asc")[2]!.run).toBe("manual_const");
  });
  it("test_sort_strings_and_shapes", () => {
    expect(sortRows(OVERVIEW.rows, "run", "asc").map((r) => r.run)).toEqual([
      "manual_const",
      "tfmot_poly",
      "tfmot_poly",
    ]);
    expect(sortRows(OVERVIEW.rows, "shape", "asc").map((r) => r.shape)).toEqual([[32, 10], [64, 32], [64, 32]]);
    expect(compareValues([2, 8], [4, 4])).toBeLessThan(0);
    expect(compareValues([4, 4], [2, 8])).toBeGreaterThan(0);
    expect(compareValues([3, 3], [3, 3])).toBe(0);
  });
});
