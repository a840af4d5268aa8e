import { describe, expect, it } from "vitest";
import { rasterizeHistograms, valueToColumn } from "../src/transforms/histogram";
import type { HistogramsResponse } from "../src/types";
import { HISTOGRAMS } from "./fixtures";

const rounded = (rows: Float64Array[]) => rows.map((r) => [...r].map((v) => Math.round(v * 1e9) / 1e9));

describe("rasterizeHistograms", () => {
  it("test_steps_share_the_union_of_their_ranges", () => {
    const r = rasterizeHistograms(HISTOGRAMS, 6);
    expect([r.lo, r.hi]).toEqual([0, 0.6]);
    expect(rounded(r.rows)).toEqual([
      [4, 2, 2, 0, 0, 0],
      [0, 0, 1, 1, 1, 1],
    ]);
    expect(r.thresholdColumns).toEqual([null, 3]);
  });
  it("test_bins_are_split_across_columns_by_overlap", () => {
    const r = rasterizeHistograms(HISTOGRAMS, 3);
    expect(rounded(r.rows)).toEqual([
      [6, 2, 0],
      [0, 2, 2],
    ]);
    const half = rasterizeHistograms({ ...HISTOGRAMS, steps: [0], lo: [0], hi: [0.6], counts: [[3, 6]], threshold: [0.6] }, 3);
    expect(rounded(half.rows)).toEqual([[2, 3, 4]]);
    expect(half.thresholdColumns).toEqual([2]);
  });
  it("test_degenerate_and_missing_ranges", () => {
    const h: HistogramsResponse = {
      run: "r",
      weight: "w",
      steps: [0, 1],
      lo: [0.5, null],
      hi: [0.5, null],
      counts: [[7], []],
      threshold: [0.5, null],
    };
    const r = rasterizeHistograms(h, 4);
    expect([r.lo, r.hi]).toEqual([0.5, 1.5]);
    expect(rounded(r.rows)).toEqual([
      [7, 0, 0, 0],
      [0, 0, 0, 0],
    ]);
    expect(r.thresholdColumns).toEqual([0, null]);
  });
  it("test_value_to_column_bounds", () => {
    expect(valueToColumn(0, 0, 1, 10)).toBe(0);
    expect(valueToColumn(1, 0, 1, 10)).toBe(9);
    expect(valueToColumn(0.55, 0, 1, 10)).toBe(5);
    expect(valueToColumn(1.01, 0, 1, 10)).toBeNull();
    expect(valueToColumn(Number.NaN, 0, 1, 10)).toBeNull();
  });
});
