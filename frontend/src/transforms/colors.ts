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

/**
 * Ten more, taken once PALETTE is used up, so that up to 20 runs have 20 colours (lighter
 * or darker kin of Tableau 20, apart from PALETTE's).
 */
export const EXTRA_PALETTE: readonly string[] = [
  "#a0cbe8",
  "#ffbe7d",
  "#8cd17d",
  "#b6992d",
  "#499894",
  "#79706e",
  "#d37295",
  "#d4a6c8",
  "#d7b5a6",
  "#2f4b7c",
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
 * Colours for a set of runs without collisions while the palettes last: in name order,
 * each run takes its hash's PALETTE entry, or the next free one if an earlier run has it;
 * once PALETTE is used up, the same in EXTRA_PALETTE. A run keeps its colour across
 * reloads, views and selections; it can only change when a run that sorts before it and
 * competes for the same entry appears. Beyond both palettes' size, colours repeat (by hash).
 */
export function assignRunColors(runs: readonly string[]): Map<string, string> {
  const out = new Map<string, string>();
  const taken = [new Set<number>(), new Set<number>()];
  const palettes = [PALETTE, EXTRA_PALETTE];
  for (const run of [...new Set(runs)].sort()) {
    const p = taken[0]!.size < PALETTE.length ? 0 : taken[1]!.size < EXTRA_PALETTE.length ? 1 : -1;
    if (p < 0) {
      out.set(run, runColor(run));
      continue;
    }
    const palette = palettes[p]!;
    let slot = fnv1a(run) % palette.length;
    while (taken[p]!.has(slot)) slot = (slot + 1) % palette.length;
    taken[p]!.add(slot);
    out.set(run, palette[slot]!);
  }
  return out;
}
