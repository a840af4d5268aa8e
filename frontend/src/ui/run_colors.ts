// The run colours in force: assigned once per list of runs (see
// assignRunColors), looked up by every view and the sidebar.

import { assignRunColors, runColor as hashColor } from "../transforms/colors";

let assigned = new Map<string, string>();

/** Re-assigns colours for the runs /runs listed. */
export function setRuns(runs: readonly string[]): void {
  assigned = assignRunColors(runs);
}

/** The colour of a run (by hash if it was not in the last list). */
export function runColor(run: string): string {
  return assigned.get(run) ?? hashColor(run);
}
