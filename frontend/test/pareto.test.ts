import { describe, expect, it } from "vitest";
import { dominates, paretoFront } from "../src/transforms/pareto";

const POINTS = [
  { sparsity: 0.5, value: 0.9 }, // 0
  { sparsity: 0.8, value: 0.85 }, // 1
  { sparsity: 0.8, value: 0.8 }, // 2: beaten by 1
  { sparsity: 0.9, value: 0.6 }, // 3
  { sparsity: 0.4, value: 0.88 }, // 4: beaten by 0
  { sparsity: 0.9, value: 0.6 }, // 5: equal to 3
];

describe("paretoFront", () => {
  it("test_front_when_the_metric_is_maximized", () => {
    expect(paretoFront(POINTS, false)).toEqual([0, 1, 3, 5]);
  });
  it("test_front_when_the_metric_is_minimized", () => {
    expect(paretoFront(POINTS, true)).toEqual([3, 5]);
  });
  it("test_single_and_no_points", () => {
    expect(paretoFront([{ sparsity: 0.1, value: 1 }], false)).toEqual([0]);
    expect(paretoFront([], false)).toEqual([]);
  });
  it("test_dominates_needs_one_strict_improvement", () => {
    expect(dominates(POINTS[3]!, POINTS[5]!, false)).toBe(false);
    expect(dominates(POINTS[1]!, POINTS[2]!, false)).toBe(true);
    expect(dominates(POINTS[2]!, POINTS[1]!, true)).toBe(true);
  });
});
