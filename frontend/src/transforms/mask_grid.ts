// Turning the /mask route's byte grids into pixels. Each cell is one byte
// 0..255: the fraction of the cell's weights that are kept (or newly pruned,
// or regrown). An exact mask has bytes 0 or 255 only, so it is drawn in
// exactly four colours, which a browser test can compare with the recorded
// mask pixel by pixel.

export type Rgb = readonly [number, number, number];

/** The heatmap's colours; the legend and the canvas's data attributes use the same ones. */
export const MASK_COLORS = {
  kept: [31, 78, 121] as Rgb,
  pruned: [232, 232, 232] as Rgb,
  newlyPruned: [214, 39, 40] as Rgb,
  regrown: [44, 160, 44] as Rgb,
} as const;

/** Decodes standard base64 into bytes. */
export function decodeBase64(text: string): Uint8Array {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

function mix(a: Rgb, b: Rgb, t: number): [number, number, number] {
  return [
    Math.round(a[0] + (b[0] - a[0]) * t),
    Math.round(a[1] + (b[1] - a[1]) * t),
    Math.round(a[2] + (b[2] - a[2]) * t),
  ];
}

/**
 * One RGBA pixel per cell: pruned-to-kept by the kept fraction, then blended
 * toward the newly-pruned and regrown colours by their fractions when given.
 */
export function maskCellColors(
  kept: Uint8Array,
  newlyPruned: Uint8Array | null = null,
  regrown: Uint8Array | null = null,
): Uint8ClampedArray<ArrayBuffer> {
  const out = new Uint8ClampedArray(kept.length * 4);
  for (let i = 0; i < kept.length; i++) {
    let c = mix(MASK_COLORS.pruned, MASK_COLORS.kept, kept[i]! / 255);
    if (newlyPruned && newlyPruned[i]) c = mix(c, MASK_COLORS.newlyPruned, newlyPruned[i]! / 255);
    if (regrown && regrown[i]) c = mix(c, MASK_COLORS.regrown, regrown[i]! / 255);
    out[i * 4] = c[0];
    out[i * 4 + 1] = c[1];
    out[i * 4 + 2] = c[2];
    out[i * 4 + 3] = 255;
  }
  return out;
}

/**
 * Scales a rows x cols RGBA image up by an integer `k` (each cell becomes a
 * k x k block), by hand rather than with canvas scaling, whose smoothing and
 * rounding differ between browsers.
 */
export function scaleImage(cells: Uint8ClampedArray, rows: number, cols: number, k: number): Uint8ClampedArray<ArrayBuffer> {
  const width = cols * k;
  const out = new Uint8ClampedArray(rows * k * width * 4);
  for (let r = 0; r < rows; r++) {
    const line = new Uint8ClampedArray(width * 4);
    for (let c = 0; c < cols; c++) {
      const src = (r * cols + c) * 4;
      for (let d = 0; d < k; d++) line.set(cells.subarray(src, src + 4), (c * k + d) * 4);
    }
    for (let d = 0; d < k; d++) out.set(line, (r * k + d) * width * 4);
  }
  return out;
}

/**
 * The largest integer cell size (pixels per cell side, 1..maxCell) at which
 * a rows x cols grid fits in maxWidth x maxHeight; 1 when it does not fit at
 * all (the canvas then scrolls).
 */
export function cellSize(rows: number, cols: number, maxWidth: number, maxHeight: number, maxCell = 24): number {
  const k = Math.floor(Math.min(maxWidth / Math.max(cols, 1), maxHeight / Math.max(rows, 1)));
  return Math.max(1, Math.min(maxCell, k));
}

/**
 * The mean unit sparsity of each grid row: a reduced grid's row covers
 * `cellRows` output units, so its bar shows their average (nulls skipped;
 * null when the row has no value).
 */
export function unitBars(unitSparsity: readonly (number | null)[], cellRows: number, gridRows: number): (number | null)[] {
  const bars: (number | null)[] = [];
  for (let r = 0; r < gridRows; r++) {
    let sum = 0;
    let n = 0;
    for (let u = r * cellRows; u < Math.min((r + 1) * cellRows, unitSparsity.length); u++) {
      const v = unitSparsity[u];
      if (v !== null && v !== undefined && Number.isFinite(v)) {
        sum += v;
        n++;
      }
    }
    bars.push(n ? sum / n : null);
  }
  return bars;
}
