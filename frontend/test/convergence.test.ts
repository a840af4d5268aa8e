import { describe, expect, it } from "vitest";
import { convergenceChart, earlyBirdMarker, earlyBirdText } from "../src/transforms/convergence";
import type { ConvergenceSeries } from "../src/types";

const A: ConvergenceSeries = {
  run: "a",
  shape: [100, 100],
  size: 10000,
  steps: [0, 1, 2, 3, 5],
  differing: [3000, 99, 100, 99, 0],
  fraction: [0.3, 0.0099, 0.01, 0.0099, 0],
  early_bird_step: 3,
  unreadable: 0,
};
const B: ConvergenceSeries = {
  run: "b",
  shape: [4],
  size: 4,
  steps: [1, 4],
  differing: [null, 0],
  fraction: [null, 0],
  early_bird_step: 4,
  unreadable: 2,
};

describe("convergenceChart", () => {
  it("test_runs_are_joined_on_the_union_of_steps_with_one_early_bird_point_each", () => {
    const c = convergenceChart([A, B]);
    expect(c.lines.map((l) => [l.label, l.role])).toEqual([
      ["a distance", "distance"],
      ["a early bird", "early bird"],
      ["b distance", "distance"],
      ["b early bird", "early bird"],
    ]);
    expect(c.table.x).toEqual([0, 1, 2, 3, 4, 5]);
    expect(c.table.ys).toEqual([
      [0.3, 0.0099, 0.01, 0.0099, null, 0],
      [null, null, null, 0.0099, null, null],
      [null, null, null, null, 0, null],
      [null, null, null, null, 0, null],
    ]);
  });
  it("test_marker_is_null_without_an_early_bird_step", () => {
    expect(earlyBirdMarker({ ...A, early_bird_step: null })).toEqual([null, null, null, null, null]);
  });
});

describe("earlyBirdText", () => {
  it("test_states_the_step_the_limit_and_the_final_step", () => {
    expect(earlyBirdText(A, 0.01)).toBe(
      "a: early bird at step 3: from there the mask differs from its final one (step 5) in under 1% of its 10,000 weights.",
    );
  });
  it("test_a_mask_settling_only_at_the_end_has_no_early_bird_point", () => {
    expect(earlyBirdText(B, 0.01)).toBe(
      "b: the mask changed by 1% or more until its last record, step 4: no early-bird point before the end (2 unreadable records left out).",
    );
    expect(earlyBirdText({ ...B, steps: [4], differing: [0], fraction: [0] }, 0.01)).toBe(
      "b: early bird at step 4: from there the mask differs from its final one (step 4) in under 1% of its 4 weights (2 unreadable records left out).",
    );
  });
});
