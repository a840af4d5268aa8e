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

/** Sets `out` to `a` blended toward `b` by `t` (0..1), rounded; `a` may be `out` itself. */
function blendInto(out: number[], a: readonly number[], b: Rgb, t: number): void {
  for (let ch = 0; ch < 3; ch++) out[ch] = Math.round(a[ch]! + (b[ch]! - a[ch]!) * t);
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
  // One colour array for every cell: this runs for every cell at every step drawn.
  const c = [0, 0, 0];
  for (let i = 0; i < kept.length; i++) {
    blendInto(c, MASK_COLORS.pruned, MASK_COLORS.kept, kept[i]! / 255);
    if (newlyPruned && newlyPruned[i]) blendInto(c, c, MASK_COLORS.newlyPruned, newlyPruned[i]! / 255);
    if (regrown && regrown[i]) blendInto(c, c, MASK_COLORS.regrown, regrown[i]! / 255);
    out.set(c, i * 4);
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
