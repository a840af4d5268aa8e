// What a poll of /runs changed: the runs whose cached answers are out of date.

import type { RunInfo } from "../types";

/** The names of the runs that differ between two /runs answers (changed, added or removed). */
export function changedRuns(before: readonly RunInfo[], after: readonly RunInfo[]): string[] {
  const old = new Map(before.map((r) => [r.run, JSON.stringify(r)]));
  const changed = after.filter((r) => old.get(r.run) !== JSON.stringify(r)).map((r) => r.run);
  const now = new Set(after.map((r) => r.run));
  return changed.concat(before.filter((r) => !now.has(r.run)).map((r) => r.run));
}
