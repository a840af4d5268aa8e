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

/**
 * One RGBA pixel per cell: pruned-to-kept by the kept fraction, then blended
 * toward the newly-pruned and regrown colours by their fractions when given
 * (each blend rounded to whole colour values).
 */
export function maskCellColors(
  kept: Uint8Array,
  newlyPruned: Uint8Array | null = null,
  regrown: Uint8Array | null = null,
): Uint8ClampedArray<ArrayBuffer> {
  const out = new Uint8ClampedArray(kept.length * 4);
  const { pruned: p, kept: k, newlyPruned: n, regrown: g } = MASK_COLORS;
  // Scalars rather than a small array per cell: this runs for every cell at every step drawn.
  for (let i = 0; i < kept.length; i++) {
    const t = kept[i]! / 255;
    let r = Math.round(p[0] + (k[0] - p[0]) * t);
    let gr = Math.round(p[1] + (k[1] - p[1]) * t);
    let b = Math.round(p[2] + (k[2] - p[2]) * t);
    const u = newlyPruned ? newlyPruned[i]! : 0;
    if (u) {
      const f = u / 255;
      r = Math.round(r + (n[0] - r) * f);
      gr = Math.round(gr + (n[1] - gr) * f);
      b = Math.round(b + (n[2] - b) * f);
    }
    const v = regrown ? regrown[i]! : 0;
    if (v) {
      const f = v / 255;
      r = Math.round(r + (g[0] - r) * f);
      gr = Math.round(gr + (g[1] - gr) * f);
      b = Math.round(b + (g[2] - b) * f);
    }
    out[i * 4] = r;
    out[i * 4 + 1] = gr;
    out[i * 4 + 2] = b;
    out[i * 4 + 3] = 255;
  }
  return out;
}

/**
 * Scales a rows x cols RGBA image up by an integer `k` (each cell becomes a
 * k x k block), by hand rather than with canvas scaling, whose smoothing and
 * rounding differ between browsers. Writes into `out` when it has the right
 * length (a canvas's ImageData kept from the previous step), else into a new array.
 */
export function scaleImage(
  cells: Uint8ClampedArray,
  rows: number,
  cols: number,
  k: number,
  out?: Uint8ClampedArray<ArrayBuffer>,
): Uint8ClampedArray<ArrayBuffer> {
  const width = cols * k;
  const target = out && out.length === rows * k * width * 4 ? out : new Uint8ClampedArray(rows * k * width * 4);
  // One 32-bit word per pixel: the bytes keep their order whatever the platform's endianness.
  const aligned = cells.byteOffset % 4 === 0 ? cells : cells.slice();
  const src = new Uint32Array(aligned.buffer, aligned.byteOffset, rows * cols);
  const dst = new Uint32Array(target.buffer, target.byteOffset, rows * k * width);
  for (let r = 0; r < rows; r++) {
    const top = r * k * width;
    for (let c = 0; c < cols; c++) dst.fill(src[r * cols + c]!, top + c * k, top + c * k + k);
    for (let d = 1; d < k; d++) dst.copyWithin(top + d * width, top, top + width);
  }
  return target;
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
