import { describe, expect, it } from "vitest";
import { indexInForce, nearestStepIndex } from "../src/transforms/steps";

describe("mask slider steps", () => {
  const steps = [0, 10, 20, 100];
  it("test_nearest_recorded_step", () => {
    expect([-5, 0, 4, 5, 6, 19, 59, 60, 61, 100, 500].map((v) => nearestStepIndex(steps, v))).toEqual([0, 0, 0, 0, 1, 2, 2, 2, 3, 3, 3]);
    expect(nearestStepIndex([], 3)).toBe(-1);
  });
  it("test_mask_in_force_is_the_last_at_or_before", () => {
    expect([0, 9, 10, 99, 100, 1000, -1].map((s) => indexInForce(steps, s))).toEqual([0, 0, 1, 2, 3, 3, 0]);
  });
});
