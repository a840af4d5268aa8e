// The Masks view's step slider runs over steps, not indices: recorded masks at steps
// 0, 10, 20, 100 sit at those places on it, so the gaps in recording show.

/**
 * The index of the recorded step nearest to `value` in ascending `steps` (the earlier one
 * on a tie); -1 when there is no step.
 */
export function nearestStepIndex(steps: readonly number[], value: number): number {
  if (!steps.length) return -1;
  let lo = 0;
  let hi = steps.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (steps[mid]! < value) lo = mid + 1;
    else hi = mid;
  }
  // lo: the first step >= value (or the last step).
  if (lo > 0 && value - steps[lo - 1]! <= steps[lo]! - value) return lo - 1;
  return lo;
}

/** The index of the mask in force at `step`: the last recorded at or before it (0 before the first). */
export function indexInForce(steps: readonly number[], step: number): number {
  let index = 0;
  steps.forEach((s, i) => {
    if (s <= step) index = i;
  });
  return index;
}
