import { describe, expect, it } from "vitest";
import { MASK_COLORS, cellSize, decodeBase64, maskCellColors, scaleImage, unitBars } from "../src/transforms/mask_grid";
import { MASK } from "./fixtures";

const pixels = (rgba: Uint8ClampedArray) => {
  const out: number[][] = [];
  for (let i = 0; i < rgba.length; i += 4) out.push([rgba[i]!, rgba[i + 1]!, rgba[i + 2]!, rgba[i + 3]!]);
  return out;
};
const K = [...MASK_COLORS.kept, 255];
const P = [...MASK_COLORS.pruned, 255];
const N = [...MASK_COLORS.newlyPruned, 255];
const G = [...MASK_COLORS.regrown, 255];

describe("mask grids", () => {
  it("test_decode_base64_grids", () => {
    expect([...decodeBase64(MASK.kept)]).toEqual([255, 0, 255, 0, 0, 255]);
    expect([...decodeBase64(MASK.newly_pruned!)]).toEqual([0, 255, 0, 0, 0, 0]);
    expect([...decodeBase64(MASK.regrown!)]).toEqual([0, 0, 0, 0, 0, 255]);
    expect([...decodeBase64("")]).toEqual([]);
  });
  it("test_exact_mask_draws_in_two_colours", () => {
    expect(pixels(maskCellColors(decodeBase64(MASK.kept)))).toEqual([K, P, K, P, P, K]);
  });
  it("test_diff_colours_newly_pruned_and_regrown", () => {
    const c = maskCellColors(decodeBase64(MASK.kept), decodeBase64(MASK.newly_pruned!), decodeBase64(MASK.regrown!));
    expect(pixels(c)).toEqual([K, N, K, P, P, G]);
  });
  it("test_reduced_cells_blend_by_kept_fraction", () => {
    expect(pixels(maskCellColors(new Uint8Array([128])))).toEqual([[131, 155, 176, 255]]);
  });
  it("test_scale_image_makes_k_by_k_blocks", () => {
    const cells = new Uint8ClampedArray([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(pixels(scaleImage(cells, 1, 2, 2))).toEqual([
      [1, 2, 3, 4],
      [1, 2, 3, 4],
      [5, 6, 7, 8],
      [5, 6, 7, 8],
      [1, 2, 3, 4],
      [1, 2, 3, 4],
      [5, 6, 7, 8],
      [5, 6, 7, 8],
    ]);
  });
  it("test_scale_image_writes_into_a_buffer_of_the_right_size_only", () => {
    const cells = new Uint8ClampedArray([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    const out = new Uint8ClampedArray(3 * 1 * 4).fill(99);
    const scaled = scaleImage(cells, 3, 1, 1, out);
    expect(scaled).toBe(out);
    expect(pixels(scaled)).toEqual([
      [1, 2, 3, 4],
      [5, 6, 7, 8],
      [9, 10, 11, 12],
    ]);
    const other = scaleImage(cells, 3, 1, 2, out);
    expect(other).not.toBe(out);
    expect(pixels(other).slice(0, 5)).toEqual([
      [1, 2, 3, 4],
      [1, 2, 3, 4],
      [1, 2, 3, 4],
      [1, 2, 3, 4],
      [5, 6, 7, 8],
    ]);
  });
  it("test_blends_of_reduced_cells_with_diff_fractions", () => {
    // Half kept, a quarter of the cell newly pruned; then fully regrown over all pruned.
    const c = maskCellColors(new Uint8Array([128, 0]), new Uint8Array([64, 0]), new Uint8Array([0, 255]));
    expect(pixels(c)).toEqual([
      [152, 126, 142, 255],
      [...MASK_COLORS.regrown, 255],
    ]);
  });
  it("test_cell_size_is_the_largest_integer_that_fits", () => {
    expect(cellSize(32, 64, 800, 600)).toBe(12);
    expect(cellSize(2, 3, 800, 600)).toBe(24);
    expect(cellSize(1000, 1000, 800, 600)).toBe(1);
  });
  it("test_unit_bars_average_the_units_of_a_grid_row", () => {
    expect(unitBars(MASK.unit_sparsity, 1, 2)).toEqual([1 / 3, 2 / 3]);
    expect(unitBars([0.25, 0.75, null, 0.5, 1], 2, 4)).toEqual([0.5, 0.5, 1, null]);
  });
});
