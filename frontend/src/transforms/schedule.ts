// A pruning schedule recomputed from a run's configuration, as TF-MOT 0.8.1 computes it
// (tensorflow_model_optimization/python/core/sparsity/keras/pruning_schedule.py), so the
// Configuration view can draw the whole planned curve, also the steps a running training
// has not reached yet.
//
// TF-MOT evaluates its schedules in float32: every operation here is rounded to float32
// (Math.fround) in TF-MOT's order, so the targets equal the recorded target_sparsity (the
// float32 result widened to a double) bit for bit. Checked against values of TF-MOT's own
// schedule objects: test/fixtures/tfmot_schedules.json, written and verified by
// tests/test_schedule_preview.py.

const f32 = Math.fround;

/** A schedule this module can recompute; anything else has no preview. */
export type ScheduleSpec =
  | {
      kind: "polynomial";
      initial: number;
      final: number;
      begin: number;
      end: number;
      power: number;
      frequency: number;
    }
  | { kind: "constant"; target: number; begin: number; end: number; frequency: number }
  /** TF-MOT's N:M pruning (`sparsity_m_by_n`): the mask is set once, at pruning step 1, whatever the schedule says. */
  | { kind: "nm"; zeros: number; n: number };

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function num(config: Record<string, unknown>, key: string, fallback?: number): number | null {
  const v = config[key];
  if (typeof v === "number" && Number.isFinite(v)) return v;
  return fallback ?? null;
}

/**
 * The parameters of a schedule as the monitor records it in run_config: `{class, config}`
 * where config is TF-MOT's `get_config()` (`{class_name, config: {...}}`) or, for a
 * schedule of the user's own, whatever its get_config returned. null for a class other
 * than PolynomialDecay or ConstantSparsity, or parameters that are missing.
 */
export function parseSchedule(schedule: unknown): ScheduleSpec | null {
  if (!isRecord(schedule)) return null;
  const cls = schedule.class;
  let config = schedule.config;
  if (isRecord(config) && isRecord(config.config)) config = config.config;
  if (!isRecord(config)) return null;
  // TF-MOT's own validation (begin_step >= 0, frequency > 0): a config it would reject, or
  // steps that are not whole numbers, has no preview (and cannot loop forever drawing one).
  const frequency = num(config, "frequency", 100);
  const begin = num(config, "begin_step");
  if (frequency === null || frequency < 1 || !Number.isInteger(frequency) || begin === null || begin < 0 || !Number.isInteger(begin)) return null;
  if (cls === "PolynomialDecay") {
    const initial = num(config, "initial_sparsity");
    const final = num(config, "final_sparsity");
    const end = num(config, "end_step");
    const power = num(config, "power", 3);
    if (initial === null || final === null || end === null || end < begin || power === null) return null;
    return { kind: "polynomial", initial, final, begin, end, power, frequency };
  }
  if (cls === "ConstantSparsity") {
    const target = num(config, "target_sparsity");
    const end = num(config, "end_step", -1);
    if (target === null || end === null || (end !== -1 && end < begin)) return null;
    return { kind: "constant", target, begin, end, frequency };
  }
  return null;
}

/** The N:M spec of a weight's `sparsity_m_by_n` ([zeros, group size], TF-MOT's order), else null. */
export function parseNM(mByN: unknown): ScheduleSpec | null {
  if (!Array.isArray(mByN) || mByN.length !== 2) return null;
  const [zeros, n] = mByN as unknown[];
  if (typeof zeros !== "number" || typeof n !== "number" || !(n > 0)) return null;
  return { kind: "nm", zeros, n };
}

/** TF-MOT's `_should_prune_in_step`: begin <= step <= end (end -1: no end) and (step - begin) % frequency == 0. */
export function shouldPrune(spec: ScheduleSpec, step: number): boolean {
  if (spec.kind === "nm") return step === 1;
  const inRange = step >= spec.begin && (step <= spec.end || spec.end < 0);
  // floormod: the sign of the divisor (the range check above makes step - begin >= 0 anyway).
  const mod = (((step - spec.begin) % spec.frequency) + spec.frequency) % spec.frequency;
  return inRange && mod === 0;
}

/**
 * The schedule's target sparsity at `step`, what TF-MOT's schedule returns there (also
 * outside the pruning steps; NaN where TF-MOT's own arithmetic gives NaN, i.e. a
 * PolynomialDecay with end_step == begin_step at that step). N:M: zeros / n.
 */
export function scheduleTarget(spec: ScheduleSpec, step: number): number {
  if (spec.kind === "nm") return spec.zeros / spec.n;
  if (spec.kind === "constant") return f32(spec.target);
  // p = min(1, max(0, float32(step - begin) / (end - begin)))
  const p = Math.min(1, Math.max(0, f32(f32(step - spec.begin) / f32(spec.end - spec.begin))));
  // (initial - final) is subtracted in Python (double), then taken as a float32 constant.
  const decay = f32(Math.pow(f32(1 - p), f32(spec.power)));
  return f32(f32(f32(spec.initial - spec.final) * decay) + f32(spec.final));
}

/**
 * The sparsity the mask is set to at `step`: the target at the latest step s <= `step`
 * where the schedule prunes, counting from step 1 (TF-MOT's wrapper increments its
 * pruning step before pruning, so a training never prunes at step 0); 0 before any.
 */
export function maskTarget(spec: ScheduleSpec, step: number): number {
  const last = lastPruningStep(spec, step);
  return last === null ? 0 : scheduleTarget(spec, last);
}

/** The latest pruning step in [1, step], or null. */
export function lastPruningStep(spec: ScheduleSpec, step: number): number | null {
  if (spec.kind === "nm") return step >= 1 ? 1 : null;
  let s = Math.floor(step);
  if (spec.end >= 0) s = Math.min(s, spec.end);
  if (s < spec.begin) return null;
  s -= (s - spec.begin) % spec.frequency;
  // begin = 0: step 0 is a pruning step of the schedule, but not of a training.
  return s >= 1 ? s : null;
}

/** The last step the schedule can change the mask at; null when it has no end (ConstantSparsity's end_step -1). */
export function scheduleEnd(spec: ScheduleSpec): number | null {
  if (spec.kind === "nm") return 1;
  return spec.end >= 0 ? spec.end : null;
}

/** Points of the preview, ascending by step. */
export interface PreviewCurve {
  steps: number[];
  values: number[];
}

/** Most stairs drawn one by one; a longer schedule is drawn through its stairs' tops. */
export const MAX_STAIRS = 2000;

/**
 * The mask's planned sparsity from step 0 to `until` (at least the schedule's end): a
 * staircase with a point at each pruning step and one step before it (the previous
 * value), so the line is flat between pruning steps and every drawn point is exactly
 * `maskTarget` at its step. With more than MAX_STAIRS pruning steps, every k-th pruning
 * step is drawn (and the last one): fewer, taller stairs, each point still exact.
 */
export function previewCurve(spec: ScheduleSpec, until: number): PreviewCurve {
  const end = scheduleEnd(spec);
  const last = Math.max(0, Math.floor(until), end ?? 0);
  const pruning: number[] = [];
  if (spec.kind === "nm") {
    if (last >= 1) pruning.push(1);
  } else {
    const first = Math.max(spec.begin, spec.begin + spec.frequency * Math.ceil((1 - spec.begin) / spec.frequency));
    const stop = end === null ? last : Math.min(end, last);
    const count = first > stop ? 0 : Math.floor((stop - first) / spec.frequency) + 1;
    const stride = Math.max(1, Math.ceil(count / MAX_STAIRS));
    for (let i = 0; i < count; i += stride) pruning.push(first + i * spec.frequency);
    const lastPruning = first + (count - 1) * spec.frequency;
    if (count && pruning[pruning.length - 1] !== lastPruning) pruning.push(lastPruning);
  }
  const steps: number[] = [0];
  const values: number[] = [maskTarget(spec, 0)];
  for (const s of pruning) {
    if (s - 1 > steps[steps.length - 1]!) {
      steps.push(s - 1);
      values.push(maskTarget(spec, s - 1));
    }
    steps.push(s);
    values.push(maskTarget(spec, s));
  }
  if (last > steps[steps.length - 1]!) {
    steps.push(last);
    values.push(maskTarget(spec, last));
  }
  return { steps, values };
}
