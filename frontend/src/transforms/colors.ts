// Run colours: a hash of the run's name picks a palette entry, so a run keeps
// its colour across reloads, views and selections (an index-based colour would
// shift whenever another run appears or is deselected).

/** Ten colours that stay apart on white (Tableau 10). */
export const PALETTE: readonly string[] = [
  "#4e79a7",
  "#f28e2b",
  "#e15759",
  "#76b7b2",
  "#59a14f",
  "#edc948",
  "#b07aa1",
  "#ff9da7",
  "#9c755f",
  "#bab0ac",
];

/** 32-bit FNV-1a over the UTF-16 code units of `text`, as an unsigned integer. */
export function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

/** The colour of a run, stable for its name. */
export function runColor(run: string): string {
  return PALETTE[fnv1a(run) % PALETTE.length]!;
}

/** "#rrggbb" to [r, g, b]. */
export function hexToRgb(hex: string): [number, number, number] {
  const n = parseInt(hex.slice(1), 16);
  return [(n >> 16) & 255, (n >> 8) & 255, n & 255];
}

/**
 * Colours for a set of runs without collisions while the palette lasts: in
 * name order, each run takes its hash's palette entry, or the next free one
 * if an earlier run has it. A run keeps its colour across reloads, views and
 * selections; it can only change when a run that sorts before it and
 * competes for the same entry appears. Beyond the palette's size, colours
 * repeat (by hash).
 */
export function assignRunColors(runs: readonly string[]): Map<string, string> {
  const out = new Map<string, string>();
  const taken = new Set<number>();
  for (const run of [...new Set(runs)].sort()) {
    let slot = fnv1a(run) % PALETTE.length;
    if (taken.size < PALETTE.length) {
      while (taken.has(slot)) slot = (slot + 1) % PALETTE.length;
      taken.add(slot);
    }
    out.set(run, PALETTE[slot]!);
  }
  return out;
}
