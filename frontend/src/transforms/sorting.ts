// Table sorting. Missing values (null: NaN on disk, or not applicable) sort
// last in both directions so a column's real values are always on top.

export type SortDirection = "asc" | "desc";

type Sortable = number | string | null | undefined | readonly number[];

function product(values: readonly number[]): number {
  return values.reduce((a, b) => a * b, 1);
}

/** Compares two present values: numbers numerically, shapes by size then dims, strings by code unit. */
export function compareValues(a: Exclude<Sortable, null | undefined>, b: Exclude<Sortable, null | undefined>): number {
  if (typeof a === "number" && typeof b === "number") return a - b;
  if (Array.isArray(a) && Array.isArray(b)) {
    const bySize = product(a) - product(b);
    if (bySize !== 0) return bySize;
    for (let i = 0; i < Math.min(a.length, b.length); i++) {
      if (a[i] !== b[i]) return a[i]! - b[i]!;
    }
    return a.length - b.length;
  }
  const sa = String(a);
  const sb = String(b);
  return sa < sb ? -1 : sa > sb ? 1 : 0;
}

/**
 * Returns the rows sorted by `key`; ties keep their input order (the sort is
 * stable), and missing values go last whatever the direction.
 */
export function sortRows<T>(rows: readonly T[], key: keyof T, direction: SortDirection): T[] {
  const sign = direction === "asc" ? 1 : -1;
  return [...rows].sort((ra, rb) => {
    const a = ra[key] as unknown as Sortable;
    const b = rb[key] as unknown as Sortable;
    const aMissing = a === null || a === undefined || (typeof a === "number" && Number.isNaN(a));
    const bMissing = b === null || b === undefined || (typeof b === "number" && Number.isNaN(b));
    if (aMissing || bMissing) return aMissing === bMissing ? 0 : aMissing ? 1 : -1;
    return sign * compareValues(a, b);
  });
}
