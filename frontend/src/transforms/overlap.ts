// Cross-run mask overlap: the colours of run A against run B in the Masks view
// (kept in both, only in A, only in B), and the /mask_overlap answer shaped as a
// runs x runs heatmap and a table of pairs.

import type { OverlapGroup } from "../types";
import { formatCount, formatNumber } from "./format";
import { MASK_COLORS, type Rgb } from "./mask_grid";

/** The comparison's colours; the legend and the canvas's data attributes use the same ones. */
export const COMPARE_COLORS = {
  both: MASK_COLORS.kept,
  onlyA: [230, 126, 34] as Rgb,
  onlyB: [142, 68, 173] as Rgb,
  neither: MASK_COLORS.pruned,
} as const;

function blendInto(out: number[], b: Rgb, t: number): void {
  for (let ch = 0; ch < 3; ch++) out[ch] = Math.round(out[ch]! + (b[ch]! - out[ch]!) * t);
}

/**
 * One RGBA pixel per cell of the three /mask `compare_run` grids (bytes 0..255: the fraction
 * of the cell's weights kept in both, only in A, only in B): from the "neither" colour blended
 * toward each in turn by its fraction (each blend rounded), so an exact cell is one of four colours.
 */
export function compareCellColors(both: Uint8Array, onlyA: Uint8Array, onlyB: Uint8Array): Uint8ClampedArray<ArrayBuffer> {
  const out = new Uint8ClampedArray(both.length * 4);
  const c = [0, 0, 0];
  for (let i = 0; i < both.length; i++) {
    c[0] = COMPARE_COLORS.neither[0];
    c[1] = COMPARE_COLORS.neither[1];
    c[2] = COMPARE_COLORS.neither[2];
    if (both[i]) blendInto(c, COMPARE_COLORS.both, both[i]! / 255);
    if (onlyA[i]) blendInto(c, COMPARE_COLORS.onlyA, onlyA[i]! / 255);
    if (onlyB[i]) blendInto(c, COMPARE_COLORS.onlyB, onlyB[i]! / 255);
    out.set(c, i * 4);
    out[i * 4 + 3] = 255;
  }
  return out;
}

/** What one exact compare cell is, from its three bytes. */
export function compareCellText(both: number, onlyA: number, onlyB: number, runA: string, runB: string): string {
  if (both) return "kept in both";
  if (onlyA) return `kept only in ${runA}`;
  if (onlyB) return `kept only in ${runB}`;
  return "pruned in both";
}

/** The heatmap's colour for an IoU: white at 0 to dark blue at 1; grey for none. */
export function iouColor(iou: number | null): string {
  if (iou === null) return "rgb(200,200,200)";
  const t = Math.min(1, Math.max(0, iou));
  const c = [255, 255, 255].map((w, ch) => Math.round(w + (MASK_COLORS.kept[ch]! - w) * t));
  return `rgb(${c.join(",")})`;
}

/** One heatmap cell: the IoU of the last masks of `row` and `col`. */
export interface HeatmapCell {
  row: string;
  col: string;
  iou: number | null;
  text: string;
  color: string;
}

/** The group's runs x runs IoU matrix as rows of cells. */
export function heatmapCells(group: OverlapGroup): HeatmapCell[][] {
  return group.runs.map((row, i) =>
    group.runs.map((col, j) => {
      const iou = group.iou[i]![j] ?? null;
      return { row, col, iou, text: iou === null ? "\u2014" : formatNumber(iou), color: iouColor(iou) };
    }),
  );
}

/** One row of the pairs table. */
export interface PairRow {
  a: string;
  b: string;
  cells: string[];
  iou: number | null;
}

export const PAIR_COLUMNS = ["run A", "run B", "last step A", "last step B", "kept A", "kept B", "in both", "in either", "IoU"];

/** Each pair of the group's runs (row order) with its last masks' counts and IoU. */
export function pairRows(group: OverlapGroup): PairRow[] {
  const rows: PairRow[] = [];
  group.runs.forEach((a, i) => {
    group.runs.forEach((b, j) => {
      if (j <= i) return;
      const iou = group.iou[i]![j] ?? null;
      rows.push({
        a,
        b,
        iou,
        cells: [
          a,
          b,
          formatCount(group.last_steps[i]),
          formatCount(group.last_steps[j]),
          formatCount(group.kept[i]),
          formatCount(group.kept[j]),
          formatCount(group.intersection[i]![j]),
          formatCount(group.union[i]![j]),
          iou === null ? "\u2014" : formatNumber(iou),
        ],
      });
    });
  });
  return rows;
}
