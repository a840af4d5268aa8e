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
