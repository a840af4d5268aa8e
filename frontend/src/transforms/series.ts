// Series shaping for uPlot, whose aligned mode wants one shared, ascending x
// array with every series aligned to it. Runs record at different steps, so
// their series are joined on the union of steps with gaps as null (drawn with
// spanGaps so a run's line stays continuous).

/** One source table: ascending-or-not x values and the y columns that go with them. */
export interface XYTable {
  x: readonly number[];
  ys: readonly (readonly (number | null | undefined)[])[];
}

/** The joined table: the sorted union of x values and every table's columns, in order. */
export interface AlignedTable {
  x: number[];
  ys: (number | null)[][];
}

/** Joins tables on the union of their x values; where a table has no value, null. */
export function alignSeries(tables: readonly XYTable[]): AlignedTable {
  const xs = new Set<number>();
  for (const t of tables) for (const x of t.x) xs.add(x);
  const x = [...xs].sort((a, b) => a - b);
  const index = new Map(x.map((v, i) => [v, i]));
  const ys: (number | null)[][] = [];
  for (const t of tables) {
    for (const column of t.ys) {
      const out: (number | null)[] = new Array(x.length).fill(null);
      t.x.forEach((xv, i) => {
        const v = column[i];
        // A repeated x in one table: the later record wins, as it would on disk.
        out[index.get(xv)!] = v === undefined || v === null || !Number.isFinite(v) ? null : v;
      });
      ys.push(out);
    }
  }
  return { x, ys };
}

/**
 * The points to mark where a mask changed: the value of `y` at the steps listed in
 * `changeSteps`, null elsewhere (so only markers are drawn). A change at a step the
 * series does not hold (a long series is a sample) has no value to mark.
 */
export function maskChangeMarkers(
  steps: readonly number[],
  y: readonly (number | null)[],
  changeSteps: readonly number[],
): (number | null)[] {
  const changed = new Set(changeSteps);
  return steps.map((step, i) => (changed.has(step) ? (y[i] ?? null) : null));
}
