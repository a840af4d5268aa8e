import { describe, expect, it } from "vitest";
import { alignSeries, maskChangeMarkers } from "../src/transforms/series";
import { WEIGHT_SERIES_MULTI } from "./fixtures";

describe("alignSeries", () => {
  it("test_union_of_steps_with_nulls_where_a_run_has_none", () => {
    const joined = alignSeries([
      { x: [0, 10, 20], ys: [[0, 0.3, 0.5], [0, 0.31, 0.5]] },
      { x: [5, 10], ys: [[0.1, 0.2]] },
    ]);
    expect(joined.x).toEqual([0, 5, 10, 20]);
    expect(joined.ys).toEqual([
      [0, null, 0.3, 0.5],
      [0, null, 0.31, 0.5],
      [null, 0.1, 0.2, null],
    ]);
  });
  it("test_unsorted_input_nonfinite_and_repeated_steps", () => {
    const joined = alignSeries([{ x: [20, 0, 20], ys: [[1, Number.NaN, 3]] }]);
    expect(joined.x).toEqual([0, 20]);
    expect(joined.ys).toEqual([[null, 3]]);
  });
  it("test_no_tables", () => {
    expect(alignSeries([])).toEqual({ x: [], ys: [] });
  });
});

describe("maskChangeMarkers", () => {
  it("test_markers_only_at_the_steps_where_the_mask_changed", () => {
    expect(maskChangeMarkers([0, 10, 20, 30], [0, 0.31, 0.5, 0.5], [0, 20])).toEqual([0, null, 0.5, null]);
    const e = WEIGHT_SERIES_MULTI.series[1]!;
    expect(maskChangeMarkers(e.steps, e.fields.sparsity!, e.mask_change_steps!)).toEqual([0, 0.3, 0.5, null]);
  });
  it("test_a_sampled_series_marks_only_the_changes_it_holds", () => {
    // Steps 0 and 20 changed the mask; the sample holds 10 and 30 only, and 20 has no value.
    expect(maskChangeMarkers([10, 20, 30], [0.3, null, 0.5], [0, 10, 20])).toEqual([0.3, null, null]);
  });
});
