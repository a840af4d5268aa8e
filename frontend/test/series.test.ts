import { describe, expect, it } from "vitest";
import { alignSeries, maskChangeMarkers } from "../src/transforms/series";
import { WEIGHT_SERIES } from "./fixtures";

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
  it("test_markers_only_where_mask_changed", () => {
    expect(maskChangeMarkers([0, 0.31, 0.5, 0.5], [1, 0, 1, null])).toEqual([0, null, 0.5, null]);
    const f = WEIGHT_SERIES.fields;
    expect(maskChangeMarkers(f.sparsity!, f.mask_changed!)).toEqual([0, 0.31, 0.5]);
  });
});
