// Zoom arithmetic for the mask heatmap: turning a dragged rectangle or a zoom
// button into a region in layout coordinates (the /mask route's
// row0/col0/rows/cols), always clamped to the layout.

import type { GridShape, MaskLayout, Region } from "../types";

/** The whole layout as a region. */
export function fullRegion(layout: MaskLayout): Region {
  return { row0: 0, col0: 0, rows: layout.rows, cols: layout.cols };
}

/** The region clamped into the layout; at least one entry in each direction. */
export function clampRegion(region: Region, layout: MaskLayout): Region {
  const rows = Math.max(1, Math.min(region.rows, layout.rows));
  const cols = Math.max(1, Math.min(region.cols, layout.cols));
  const row0 = Math.max(0, Math.min(region.row0, layout.rows - rows));
  const col0 = Math.max(0, Math.min(region.col0, layout.cols - cols));
  return { row0, col0, rows, cols };
}

/**
 * The layout region under a rectangle dragged on the canvas, from pixel
 * (x0, y0) to (x1, y1) in either order, where each grid cell is k pixels wide
 * and covers grid.cell_rows x grid.cell_cols entries of `shown`.
 */
export function dragToRegion(
  x0: number,
  y0: number,
  x1: number,
  y1: number,
  k: number,
  grid: GridShape,
  shown: Region,
  layout: MaskLayout,
): Region {
  const clampCell = (v: number, n: number) => Math.max(0, Math.min(n - 1, Math.floor(v / k)));
  const c0 = clampCell(Math.min(x0, x1), grid.cols);
  const c1 = clampCell(Math.max(x0, x1), grid.cols);
  const r0 = clampCell(Math.min(y0, y1), grid.rows);
  const r1 = clampCell(Math.max(y0, y1), grid.rows);
  const row0 = shown.row0 + r0 * grid.cell_rows;
  const col0 = shown.col0 + c0 * grid.cell_cols;
  const rowEnd = Math.min(shown.row0 + shown.rows, shown.row0 + (r1 + 1) * grid.cell_rows);
  const colEnd = Math.min(shown.col0 + shown.cols, shown.col0 + (c1 + 1) * grid.cell_cols);
  return clampRegion({ row0, col0, rows: rowEnd - row0, cols: colEnd - col0 }, layout);
}

/**
 * The region scaled about its centre: factor 0.5 zooms in to half the rows
 * and columns, 2 zooms out to twice as many; clamped to the layout.
 */
export function zoomRegion(region: Region, factor: number, layout: MaskLayout): Region {
  const rows = Math.max(1, Math.round(region.rows * factor));
  const cols = Math.max(1, Math.round(region.cols * factor));
  const row0 = region.row0 + Math.floor((region.rows - rows) / 2);
  const col0 = region.col0 + Math.floor((region.cols - cols) / 2);
  return clampRegion({ row0, col0, rows, cols }, layout);
}

/** Whether the region is the whole layout (then no region parameters are sent). */
export function isFullRegion(region: Region, layout: MaskLayout): boolean {
  return region.row0 === 0 && region.col0 === 0 && region.rows === layout.rows && region.cols === layout.cols;
}

/**
 * The layout size of a mask of `shape`, as the server lays it out: rows are
 * the last axis, columns everything else; rank 1 is one row, rank 0 one cell.
 */
export function layoutSize(shape: readonly number[]): { rows: number; cols: number } {
  if (shape.length === 0) return { rows: 1, cols: 1 };
  if (shape.length === 1) return { rows: 1, cols: shape[0]! };
  const rows = shape[shape.length - 1]!;
  return { rows, cols: shape.slice(0, -1).reduce((a, b) => a * b, 1) };
}

/**
 * The max_cells to ask for so that the grid of a rows x cols region stays
 * within `maxSide` cells in each direction (a canvas cannot be arbitrarily
 * wide) and within `budget` cells in all. The server makes cells about
 * square, with side about sqrt(rows * cols / max_cells).
 */
export function maxCellsFor(rows: number, cols: number, budget = 262144, maxSide = 2048): number {
  const total = rows * cols;
  if (total <= budget && rows <= maxSide && cols <= maxSide) return budget;
  const side = Math.max(Math.ceil(rows / maxSide), Math.ceil(cols / maxSide), Math.ceil(Math.sqrt(total / budget)));
  return Math.max(1, Math.min(budget, Math.floor(total / (side * side))));
}

/**
 * The index along each column axis of layout column `col` for a mask of
 * `shape`: [input, spatial axes...] for rank >= 2 (the input axis is
 * outermost), [col] for rank 1, [] for rank 0.
 */
export function columnIndices(shape: readonly number[], col: number): number[] {
  if (shape.length < 2) return shape.length ? [col] : [];
  const spatial = shape.slice(0, -2);
  const out: number[] = [];
  let rest = col;
  for (let i = spatial.length - 1; i >= 0; i--) {
    out.unshift(rest % spatial[i]!);
    rest = Math.floor(rest / spatial[i]!);
  }
  out.unshift(rest);
  return out;
}
