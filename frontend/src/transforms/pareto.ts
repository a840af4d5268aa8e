// The Pareto front of runs' final (sparsity, metric) points: the runs that no
// other run beats on both counts. Sparsity is always maximised; the metric is
// maximised (accuracy-like) or minimised (loss-like).

export interface ParetoPoint {
  sparsity: number;
  value: number;
}

/** Whether `a` dominates `b`: at least as good on both, strictly better on one. */
export function dominates(a: ParetoPoint, b: ParetoPoint, minimizeValue: boolean): boolean {
  const av = minimizeValue ? -a.value : a.value;
  const bv = minimizeValue ? -b.value : b.value;
  return a.sparsity >= b.sparsity && av >= bv && (a.sparsity > b.sparsity || av > bv);
}

/**
 * Indices of the non-dominated points, ordered by sparsity ascending (ties by
 * index), ready to be drawn as a line. Equal points are all on the front.
 */
export function paretoFront(points: readonly ParetoPoint[], minimizeValue: boolean): number[] {
  const front: number[] = [];
  points.forEach((p, i) => {
    if (!points.some((q, j) => j !== i && dominates(q, p, minimizeValue))) front.push(i);
  });
  return front.sort((a, b) => points[a]!.sparsity - points[b]!.sparsity || a - b);
}
