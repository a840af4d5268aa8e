import { describe, expect, it } from "vitest";
import {
  clampRegion,
  columnIndices,
  dragToRegion,
  fullRegion,
  isFullRegion,
  layoutSize,
  maxCellsFor,
  zoomRegion,
} from "../src/transforms/region";
import type { MaskLayout } from "../src/types";

const LAYOUT: MaskLayout = { rows: 32, cols: 64, row_axis: "output unit", col_axes: ["input"] };
const BIG: MaskLayout = { rows: 1000, cols: 2000, row_axis: "output unit", col_axes: ["input", "kh", "kw"] };
const EXACT = { rows: 32, cols: 64, cell_rows: 1, cell_cols: 1 };

describe("mask regions", () => {
  it("test_drag_on_exact_grid_selects_the_cells_under_it", () => {
    expect(dragToRegion(15, 25, 44, 5, 10, EXACT, fullRegion(LAYOUT), LAYOUT)).toEqual({
      row0: 0,
      col0: 1,
      rows: 3,
      cols: 4,
    });
  });
  it("test_drag_on_reduced_grid_covers_whole_cells", () => {
    const grid = { rows: 250, cols: 500, cell_rows: 4, cell_cols: 4 };
    expect(dragToRegion(0, 0, 9, 3, 2, grid, fullRegion(BIG), BIG)).toEqual({ row0: 0, col0: 0, rows: 8, cols: 20 });
  });
  it("test_drag_inside_a_zoomed_region_is_offset", () => {
    const shown = { row0: 100, col0: 200, rows: 50, cols: 50 };
    const grid = { rows: 50, cols: 50, cell_rows: 1, cell_cols: 1 };
    expect(dragToRegion(8, 12, 11, 12, 4, grid, shown, BIG)).toEqual({ row0: 103, col0: 202, rows: 1, cols: 1 });
  });
  it("test_drag_over_a_partial_last_cell_stops_at_the_region_end", () => {
    const shown = { row0: 0, col0: 0, rows: 10, cols: 64 };
    const grid = { rows: 3, cols: 64, cell_rows: 4, cell_cols: 1 };
    expect(dragToRegion(0, 25, 0, 29, 10, grid, shown, LAYOUT)).toEqual({ row0: 8, col0: 0, rows: 2, cols: 1 });
  });
  it("test_drag_outside_the_canvas_is_clamped", () => {
    expect(dragToRegion(-50, -50, 5000, 5000, 10, EXACT, fullRegion(LAYOUT), LAYOUT)).toEqual(fullRegion(LAYOUT));
  });
  it("test_zoom_in_and_out_about_the_centre", () => {
    const half = zoomRegion(fullRegion(LAYOUT), 0.5, LAYOUT);
    expect(half).toEqual({ row0: 8, col0: 16, rows: 16, cols: 32 });
    expect(zoomRegion(half, 2, LAYOUT)).toEqual(fullRegion(LAYOUT));
    expect(zoomRegion({ row0: 20, col0: 40, rows: 10, cols: 20 }, 2, LAYOUT)).toEqual({
      row0: 12,
      col0: 24,
      rows: 20,
      cols: 40,
    });
    expect(zoomRegion({ row0: 3, col0: 4, rows: 1, cols: 1 }, 0.5, LAYOUT)).toEqual({ row0: 3, col0: 4, rows: 1, cols: 1 });
  });
  it("test_clamp_and_full_region", () => {
    expect(clampRegion({ row0: 30, col0: -5, rows: 10, cols: 100 }, LAYOUT)).toEqual({ row0: 22, col0: 0, rows: 10, cols: 64 });
    expect(isFullRegion(fullRegion(LAYOUT), LAYOUT)).toBe(true);
    expect(isFullRegion({ row0: 0, col0: 0, rows: 31, cols: 64 }, LAYOUT)).toBe(false);
  });
});

describe("layout size and cell budget", () => {
  it("test_layout_size_matches_the_server_layout", () => {
    expect(layoutSize([64, 32])).toEqual({ rows: 32, cols: 64 });
    expect(layoutSize([3, 3, 16, 32])).toEqual({ rows: 32, cols: 144 });
    expect(layoutSize([10])).toEqual({ rows: 1, cols: 10 });
    expect(layoutSize([])).toEqual({ rows: 1, cols: 1 });
  });
  it("test_small_regions_get_the_whole_budget_and_are_sent_exactly", () => {
    expect(maxCellsFor(32, 64)).toBe(262144);
    expect(maxCellsFor(512, 512)).toBe(262144);
  });
  it("test_large_or_elongated_regions_get_fewer_cells", () => {
    // 4096 x 4096: side 8 -> 512 x 512 cells.
    expect(maxCellsFor(4096, 4096)).toBe(262144);
    expect(maxCellsFor(8192, 8192)).toBe(262144);
    // 10 x 100000 would be 100000 columns wide exactly: side 49.
    expect(maxCellsFor(10, 100000)).toBe(416);
    expect(maxCellsFor(1, 3000)).toBe(750);
  });
});

describe("columnIndices", () => {
  it("test_conv_columns_are_input_then_kernel_position", () => {
    // Conv2D [kh=3, kw=2, in=4, out=8]: column = input * 6 + kh * 2 + kw.
    expect(columnIndices([3, 2, 4, 8], 0)).toEqual([0, 0, 0]);
    expect(columnIndices([3, 2, 4, 8], 5)).toEqual([0, 2, 1]);
    expect(columnIndices([3, 2, 4, 8], 6)).toEqual([1, 0, 0]);
    expect(columnIndices([3, 2, 4, 8], 23)).toEqual([3, 2, 1]);
  });
  it("test_dense_rank1_and_scalar_columns", () => {
    expect(columnIndices([64, 32], 17)).toEqual([17]);
    expect(columnIndices([10], 7)).toEqual([7]);
    expect(columnIndices([], 0)).toEqual([]);
  });
});
