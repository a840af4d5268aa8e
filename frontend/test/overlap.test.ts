import { describe, expect, it } from "vitest";
import { COMPARE_COLORS, compareCellColors, compareCellText, heatmapCells, iouColor, pairRows } from "../src/transforms/overlap";
import type { OverlapGroup } from "../src/types";

const GROUP: OverlapGroup = {
  shape: [2, 3],
  size: 6,
  runs: ["b", "a", "c"],
  last_steps: [6, 4, 1200],
  kept: [2, 3, 0],
  intersection: [
    [2, 1, 0],
    [1, 3, 0],
    [0, 0, 0],
  ],
  union: [
    [2, 4, 2],
    [4, 3, 3],
    [2, 3, 0],
  ],
  iou: [
    [1, 0.25, 0],
    [0.25, 1, 0],
    [0, 0, null],
  ],
  pairs: [],
};

describe("compareCellColors", () => {
  it("test_exact_cells_are_one_of_four_colours", () => {
    const px = compareCellColors(Uint8Array.of(255, 0, 0, 0), Uint8Array.of(0, 255, 0, 0), Uint8Array.of(0, 0, 255, 0));
    expect([...px]).toEqual([
      ...COMPARE_COLORS.both, 255,
      ...COMPARE_COLORS.onlyA, 255,
      ...COMPARE_COLORS.onlyB, 255,
      ...COMPARE_COLORS.neither, 255,
    ]);
  });
  it("test_reduced_cells_blend_from_neither_by_each_fraction_in_turn", () => {
    const px = compareCellColors(Uint8Array.of(51), Uint8Array.of(102), Uint8Array.of(0));
    // neither (232,232,232) -> both (31,78,121) by 0.2 = (192,201,210); -> onlyA (230,126,34) by 0.4.
    expect([...px]).toEqual([207, 171, 140, 255]);
  });
});

describe("compareCellText", () => {
  it("test_names_the_runs", () => {
    expect(compareCellText(255, 0, 0, "a", "b")).toBe("kept in both");
    expect(compareCellText(0, 255, 0, "a", "b")).toBe("kept only in a");
    expect(compareCellText(0, 0, 255, "a", "b")).toBe("kept only in b");
    expect(compareCellText(0, 0, 0, "a", "b")).toBe("pruned in both");
  });
});

describe("heatmapCells and pairRows", () => {
  it("test_cells_follow_the_matrix_with_null_as_a_dash", () => {
    const cells = heatmapCells(GROUP);
    expect(cells.map((r) => r.map((c) => [c.row, c.col, c.iou, c.text]))).toEqual([
      [["b", "b", 1, "1"], ["b", "a", 0.25, "0.25"], ["b", "c", 0, "0"]],
      [["a", "b", 0.25, "0.25"], ["a", "a", 1, "1"], ["a", "c", 0, "0"]],
      [["c", "b", 0, "0"], ["c", "a", 0, "0"], ["c", "c", null, "\u2014"]],
    ]);
    expect(cells[0]![0]!.color).toBe("rgb(31,78,121)");
    expect(cells[0]![2]!.color).toBe("rgb(255,255,255)");
    expect(iouColor(null)).toBe("rgb(200,200,200)");
  });
  it("test_pairs_are_the_upper_triangle_in_row_order", () => {
    expect(pairRows(GROUP).map((r) => r.cells)).toEqual([
      ["b", "a", "6", "4", "2", "3", "1", "4", "0.25"],
      ["b", "c", "6", "1,200", "2", "0", "0", "2", "0"],
      ["a", "c", "4", "1,200", "3", "0", "0", "3", "0"],
    ]);
  });
});
