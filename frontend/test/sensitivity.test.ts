import { describe, expect, it } from "vitest";
import {
  allocate,
  allocationSnippet,
  curvePoints,
  dropArea,
  layerName,
  layerSparsities,
  metricDrops,
  rankBySensitivity,
  sensitivityLowerIsBetter,
  type LayerCurve,
} from "../src/transforms/sensitivity";

// Two layers measured at 0, 0.5 and 0.9: A (100 weights) loses much more loss than B (300).
const A: LayerCurve = { weight: "a/kernel", size: 100, sparsities: [0, 0.5, 0.9], values: [1.0, 1.1, 2.0] };
const B: LayerCurve = { weight: "b/kernel", size: 300, sparsities: [0, 0.5, 0.9], values: [1.0, 1.02, 1.3] };

describe("direction and drops", () => {
  it("test_loss_like_and_data_free_metrics_are_lower_is_better", () => {
    expect(sensitivityLowerIsBetter("loss", null)).toBe(true);
    expect(sensitivityLowerIsBetter("val_mae", null)).toBe(true);
    expect(sensitivityLowerIsBetter("accuracy", null)).toBe(false);
    expect(sensitivityLowerIsBetter("mean_abs_removed", null)).toBe(true);
    expect(sensitivityLowerIsBetter("loss", "higher")).toBe(false);
  });
  it("test_points_skip_nulls_and_sort_by_sparsity", () => {
    expect(curvePoints({ sparsities: [0.5, 0, 0.9], values: [2, 1, null] })).toEqual({ xs: [0, 0.5], ys: [1, 2] });
  });
  it("test_drops_from_the_lowest_level_in_the_better_direction", () => {
    expect(metricDrops({ ...A, values: [0.9, 0.8, 0.5] }, "accuracy", false).drops).toEqual([0, 0.9 - 0.8, 0.9 - 0.5]);
    expect(metricDrops(A, "loss", true).drops).toEqual([0, 1.1 - 1.0, 2.0 - 1.0]);
  });
  it("test_data_free_drop_is_the_value_with_zero_at_sparsity_zero", () => {
    const c: LayerCurve = { weight: "w", size: 4, sparsities: [0, 0.5, 0.9], values: [null, 0.1, 0.3] };
    expect(metricDrops(c, "mean_abs_removed", true)).toEqual({ xs: [0, 0.5, 0.9], drops: [0, 0.1, 0.3] });
  });
});

describe("ranking", () => {
  it("test_area_is_the_trapezoid_rule", () => {
    expect(dropArea([0, 0.5, 0.9], [0, 0.1, 1.0])).toBeCloseTo(0.5 * 0.05 + 0.4 * 0.55, 12);
  });
  it("test_most_sensitive_layer_first", () => {
    const ranked = rankBySensitivity([B, A], "loss", true);
    expect(ranked.map((r) => r.weight)).toEqual(["a/kernel", "b/kernel"]);
    expect(ranked[0]!.area).toBeCloseTo(0.245, 12);
    expect(ranked[1]!.area).toBeCloseTo(0.069, 12);
    expect(ranked[0]!.maxDrop).toBeCloseTo(1.0, 12);
  });
});

describe("allocate", () => {
  it("test_greedy_takes_the_cheapest_drop_per_weight_until_the_target", () => {
    // B to 0.5 costs 0.02/150 per weight, then A to 0.5 (0.1/50) before B to 0.9 (0.28/120).
    const a = allocate([A, B], "loss", true, 0.5, 0.5);
    expect(a.sparsities).toEqual({ "a/kernel": 0.5, "b/kernel": 0.5 });
    expect(a.globalSparsity).toBe(0.5);
    expect(a.predictedDrop).toBeCloseTo(0.12, 12);
    expect(a.reached).toBe(true);
  });
  it("test_higher_target_moves_the_large_tolerant_layer_further", () => {
    const a = allocate([A, B], "loss", true, 0.7, 0.5);
    expect(a.sparsities).toEqual({ "a/kernel": 0.5, "b/kernel": 0.9 });
    expect(a.globalSparsity).toBe(0.8);
    expect(a.predictedDrop).toBeCloseTo(0.4, 12);
  });
  it("test_target_out_of_reach_within_tolerance_gives_the_sparsest_found", () => {
    const a = allocate([A, B], "loss", true, 0.7, 0.2);
    expect(a.sparsities).toEqual({ "a/kernel": 0.5, "b/kernel": 0.5 });
    expect(a.reached).toBe(false);
    expect(a.predictedDrop).toBeLessThanOrEqual(0.2);
  });
  it("test_levels_of_one_are_never_allocated", () => {
    const c: LayerCurve = { weight: "c/kernel", size: 10, sparsities: [0, 1], values: [1, 1] };
    const a = allocate([c], "loss", true, 0.9, 1);
    expect(a.sparsities).toEqual({ "c/kernel": 0 });
    expect(a.reached).toBe(false);
  });
  it("test_zero_target_keeps_every_layer_at_its_lowest_level", () => {
    expect(allocate([A, B], "loss", true, 0, 0).sparsities).toEqual({ "a/kernel": 0, "b/kernel": 0 });
  });
});

describe("snippet", () => {
  it("test_layer_names_and_the_least_sparsity_of_a_layer", () => {
    expect(layerName("encoder/dense/kernel")).toBe("dense");
    expect(layerName("kernel")).toBe("kernel");
    const a = { sparsities: { "d/kernel": 0.5, "d/recurrent_kernel": 0.3, "e/kernel": 0 }, drops: {}, globalSparsity: 0, predictedDrop: 0, reached: true };
    expect(layerSparsities(a)).toEqual({ d: 0.3, e: 0 });
  });
  it("test_snippet_lists_each_layer_with_a_python_float", () => {
    const a = allocate([A, B], "loss", true, 0.7, 0.5);
    const text = allocationSnippet(a, "from scan");
    expect(text.split("\n")[0]).toBe("# from scan");
    expect(text).toContain('SPARSITIES = {\n    "a": 0.5,\n    "b": 0.9,\n}');
    expect(text).toContain("ConstantSparsity(SPARSITIES[layer.name], begin_step=0)");
    expect(allocationSnippet(allocate([A], "loss", true, 0, 0), "x")).toContain('"a": 0.0,');
  });
});
