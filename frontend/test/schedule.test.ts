import { describe, expect, it } from "vitest";
import {
  MAX_STAIRS,
  lastPruningStep,
  maskTarget,
  parseNM,
  parseSchedule,
  previewCurve,
  scheduleTarget,
  shouldPrune,
  type ScheduleSpec,
} from "../src/transforms/schedule";
// Computed with TF-MOT's own schedule objects by tests/test_schedule_preview.py, which also
// checks that this file still equals what the installed TF-MOT computes.
import tfmot from "./fixtures/tfmot_schedules.json";

interface Case {
  schedule: { class: string; config: unknown };
  steps: number[];
  should_prune: boolean[];
  target: (number | null)[];
  effective: (number | null)[];
}
const CASES = (tfmot as { cases: Case[] }).cases;

/** NaN as the routes and the fixture send it. */
const wire = (v: number): number | null => (Number.isNaN(v) ? null : v);

function spec(c: Case): ScheduleSpec {
  const s = parseSchedule(c.schedule);
  expect(s).not.toBeNull();
  return s!;
}

describe("the schedules against TF-MOT", () => {
  it("test_fixture_covers_both_classes", () => {
    expect(CASES.map((c) => c.schedule.class)).toContain("PolynomialDecay");
    expect(CASES.map((c) => c.schedule.class)).toContain("ConstantSparsity");
    expect(CASES.length).toBe(11);
  });
  for (const c of CASES) {
    const name = `${c.schedule.class} ${JSON.stringify(c.schedule.config)}`;
    it(`test_target_and_should_prune_equal_tfmot_at_every_step: ${name}`, () => {
      const s = spec(c);
      expect(c.steps.map((step) => wire(scheduleTarget(s, step)))).toEqual(c.target);
      expect(c.steps.map((step) => shouldPrune(s, step))).toEqual(c.should_prune);
    });
    it(`test_mask_target_is_tfmot_staircase: ${name}`, () => {
      const s = spec(c);
      expect(c.steps.map((step) => wire(maskTarget(s, step)))).toEqual(c.effective);
    });
    it(`test_preview_points_are_exact_and_flat_between: ${name}`, () => {
      const s = spec(c);
      const until = c.steps[c.steps.length - 1]!;
      const curve = previewCurve(s, until);
      expect(curve.steps[0]).toBe(0);
      expect(curve.steps[curve.steps.length - 1]).toBe(until);
      // Ascending, and every point is the staircase's value at its step.
      for (let i = 1; i < curve.steps.length; i++) expect(curve.steps[i]!).toBeGreaterThan(curve.steps[i - 1]!);
      const byStep = new Map(c.steps.map((step, i) => [step, c.effective[i]]));
      curve.steps.forEach((step, i) => {
        if (byStep.has(step)) expect(wire(curve.values[i]!)).toEqual(byStep.get(step));
      });
      // Between two drawn points the line is flat exactly where the staircase is: every
      // listed step reads the value of the drawn point at or before it.
      if (curve.steps.length <= 2 * MAX_STAIRS) {
        c.steps.forEach((step, i) => {
          let j = curve.steps.length - 1;
          while (curve.steps[j]! > step) j--;
          expect(wire(curve.values[j]!)).toEqual(c.effective[i]);
        });
      }
    });
  }
});

describe("parseSchedule", () => {
  it("test_flat_config_and_defaults", () => {
    expect(parseSchedule({ class: "ConstantSparsity", config: { target_sparsity: 0.5, begin_step: 0 } })).toEqual({
      kind: "constant",
      target: 0.5,
      begin: 0,
      end: -1,
      frequency: 100,
    });
    expect(
      parseSchedule({ class: "PolynomialDecay", config: { initial_sparsity: 0, final_sparsity: 0.8, begin_step: 0, end_step: 10 } }),
    ).toEqual({ kind: "polynomial", initial: 0, final: 0.8, begin: 0, end: 10, power: 3, frequency: 100 });
  });
  it("test_unknown_class_or_missing_parameter_has_no_preview", () => {
    expect(parseSchedule({ class: "MySchedule", config: { begin_step: 0 } })).toBeNull();
    expect(parseSchedule({ class: "PolynomialDecay", config: { initial_sparsity: 0, begin_step: 0, end_step: 9 } })).toBeNull();
    expect(parseSchedule(null)).toBeNull();
    expect(parseSchedule({ class: "ConstantSparsity", config: "text" })).toBeNull();
    // What TF-MOT's own validation rejects has no preview (frequency 0 would never end).
    const constant = (config: object) => parseSchedule({ class: "ConstantSparsity", config: { target_sparsity: 0.5, begin_step: 0, ...config } });
    expect(constant({ frequency: 0 })).toBeNull();
    expect(constant({ frequency: 2.5 })).toBeNull();
    expect(constant({ begin_step: -3 })).toBeNull();
    expect(constant({ begin_step: 10, end_step: 5 })).toBeNull();
    expect(constant({ end_step: 5 })).not.toBeNull();
    expect(parseSchedule({ class: "PolynomialDecay", config: { initial_sparsity: 0, final_sparsity: 0.5, begin_step: 9, end_step: 3 } })).toBeNull();
  });
  it("test_nm_is_set_at_step_1", () => {
    const nm = parseNM([2, 4])!;
    expect(nm).toEqual({ kind: "nm", zeros: 2, n: 4 });
    expect([0, 1, 2, 500].map((s) => maskTarget(nm, s))).toEqual([0, 0.5, 0.5, 0.5]);
    expect([0, 1, 2].map((s) => shouldPrune(nm, s))).toEqual([false, true, false]);
    expect(previewCurve(nm, 40)).toEqual({ steps: [0, 1, 40], values: [0, 0.5, 0.5] });
    expect(parseNM(null)).toBeNull();
    expect(parseNM([2])).toBeNull();
  });
});

describe("previewCurve", () => {
  const poly: ScheduleSpec = { kind: "polynomial", initial: 0, final: 0.75, begin: 2, end: 14, power: 3, frequency: 4 };
  it("test_reaches_the_end_step_even_before_training_got_there", () => {
    const curve = previewCurve(poly, 5);
    expect(curve.steps).toEqual([0, 1, 2, 5, 6, 9, 10, 13, 14]);
    expect(curve.values[curve.values.length - 1]).toBe(Math.fround(0.75));
    expect(lastPruningStep(poly, 100)).toBe(14);
    expect(lastPruningStep(poly, 1)).toBeNull();
  });
  it("test_open_ended_constant_goes_to_until", () => {
    const constant: ScheduleSpec = { kind: "constant", target: 0.7, begin: 20, end: -1, frequency: 20 };
    const curve = previewCurve(constant, 70);
    expect(curve.steps).toEqual([0, 19, 20, 39, 40, 59, 60, 70]);
    expect(curve.values).toEqual([0, 0, 0.7, 0.7, 0.7, 0.7, 0.7, 0.7].map(Math.fround));
  });
  it("test_a_long_schedule_is_drawn_with_bounded_points_each_exact", () => {
    const long: ScheduleSpec = { kind: "polynomial", initial: 0, final: 0.9, begin: 0, end: 1_000_000, power: 3, frequency: 1 };
    const curve = previewCurve(long, 10);
    expect(curve.steps.length).toBeLessThanOrEqual(2 * MAX_STAIRS + 4);
    expect(curve.steps[curve.steps.length - 1]).toBe(1_000_000);
    curve.steps.forEach((s, i) => expect(curve.values[i]).toBe(maskTarget(long, s)));
    expect(maskTarget(long, 1_000_000)).toBe(Math.fround(0.9));
  });
});
