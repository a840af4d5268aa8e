// The Configuration view's table: each run's pruning configuration (from its run_config
// record) as text cells, runs side by side. A run whose weights are pruned with different
// settings (another schedule, block size or N:M per layer) gets one column per setting,
// each saying which weights it covers.

import type { RunConfig, RunConfigWeight } from "../types";
import { MISSING, formatNumber } from "./format";
import { parseNM, parseSchedule, type ScheduleSpec } from "./schedule";

/** The table's rows, in order: [key, label]. */
export const CONFIG_ROWS = [
  ["weights", "Weights"],
  ["method", "Method"],
  ["schedule", "Schedule"],
  ["initial_sparsity", "Initial sparsity"],
  ["final_sparsity", "Final sparsity"],
  ["begin_step", "Begin step"],
  ["end_step", "End step"],
  ["frequency", "Frequency"],
  ["power", "Power"],
  ["block_size", "Block size"],
  ["block_pooling", "Block pooling"],
  ["nm", "N:M"],
  ["optimizer", "Optimizer"],
  ["learning_rate", "Learning rate"],
  ["every_n_steps", "Recorded every"],
  ["keras", "Keras"],
] as const;
export type ConfigRow = (typeof CONFIG_ROWS)[number][0];

/** One column: a run, or one group of a run's weights that share their settings. */
export interface ConfigColumn {
  run: string;
  /** 0, 1, ... within the run. */
  group: number;
  /** The weights this column covers (every recorded weight of the run for a run of one group). */
  weights: string[];
  cells: Record<ConfigRow, string>;
  /** The schedule the mask follows (N:M when set, else TF-MOT's schedule); null: none to preview. */
  preview: ScheduleSpec | null;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** A configured value as text: numbers as JavaScript writes them, so 0.9 reads "0.9". */
function text(v: unknown): string {
  if (typeof v === "number") return Number.isFinite(v) ? String(v) : MISSING;
  if (typeof v === "string" && v) return v;
  return MISSING;
}

/** The schedule's parameters, unwrapped from TF-MOT's `{class_name, config}`. */
function scheduleParams(w: RunConfigWeight): Record<string, unknown> {
  let config = w.schedule?.config;
  if (isRecord(config) && isRecord(config.config)) config = config.config;
  return isRecord(config) ? config : {};
}

function learningRate(config: RunConfig): string {
  const lr = config.optimizer?.config?.learning_rate;
  if (typeof lr === "number") return formatNumber(lr);
  // A Keras learning-rate schedule is serialized as {class_name, config}.
  if (isRecord(lr) && typeof lr.class_name === "string") return lr.class_name;
  return MISSING;
}

function weightCells(w: RunConfigWeight): Omit<Record<ConfigRow, string>, "weights" | "optimizer" | "learning_rate" | "every_n_steps" | "keras"> {
  const p = scheduleParams(w);
  const cls = w.schedule?.class;
  const isConstant = cls === "ConstantSparsity";
  const end = p.end_step;
  const nm = w.sparsity_m_by_n;
  return {
    method: text(w.method),
    schedule: text(cls),
    initial_sparsity: isConstant ? MISSING : text(p.initial_sparsity),
    final_sparsity: text(isConstant ? p.target_sparsity : p.final_sparsity),
    begin_step: text(p.begin_step),
    end_step: end === -1 ? "-1 (no end)" : text(end),
    frequency: text(p.frequency),
    power: text(p.power),
    block_size: Array.isArray(w.block_size) && w.block_size.length ? w.block_size.join("x") : MISSING,
    block_pooling: w.block_size ? text(w.block_pooling_type) : MISSING,
    nm: Array.isArray(nm) && nm.length === 2 ? `${nm[0]} zeros per ${nm[1]}` : MISSING,
  };
}

/** What the mask of weights with these settings follows: N:M when set, else the schedule. */
export function weightPreview(w: RunConfigWeight): ScheduleSpec | null {
  return parseNM(w.sparsity_m_by_n) ?? parseSchedule(w.schedule);
}

/**
 * How a run chose its recorded steps: `every_n_steps`, or (null) the default policy, which
 * records every mask change and thins the other steps to a share of the training time; then
 * which records carry the |w| histograms (`histogram_every_n_steps`; runs written before it
 * have them in every record, and say nothing).
 */
export function recordedEvery(config: RunConfig): string {
  return recordedSteps(config) + histogramSteps(config.histogram_every_n_steps);
}

function recordedSteps(config: RunConfig): string {
  const n = config.every_n_steps;
  if (n === 1) return "every step";
  if (n === null) {
    const budget = config.overhead_budget;
    const share = typeof budget === "number" && Number.isFinite(budget) ? `${+(budget * 100).toPrecision(3)}%` : MISSING;
    return `each mask change; others within ${share} of training time`;
  }
  return n === undefined ? MISSING : `every ${text(n)} steps`;
}

function histogramSteps(h: number | undefined): string {
  if (typeof h !== "number" || !Number.isFinite(h)) return "";
  return h === 1 ? "; histograms in every record" : `; histograms at mask changes and every ${text(h)} steps`;
}

/**
 * The columns for `runs` (in order), from each run's configuration (null: the run has no
 * run_config record, shown as one column of dashes).
 */
export function configColumns(runs: readonly { run: string; config: RunConfig | null }[]): ConfigColumn[] {
  const columns: ConfigColumn[] = [];
  for (const { run, config } of runs) {
    const shared = {
      optimizer: text(config?.optimizer?.class),
      learning_rate: config ? learningRate(config) : MISSING,
      every_n_steps: config ? recordedEvery(config) : MISSING,
      keras: text(config?.keras),
    };
    const weights = (config?.weights ?? []).filter((w) => isRecord(w) && typeof w.path === "string");
    const groups = new Map<string, RunConfigWeight[]>();
    for (const w of weights) {
      const key = JSON.stringify(weightCells(w));
      const group = groups.get(key);
      if (group) group.push(w);
      else groups.set(key, [w]);
    }
    if (!groups.size) {
      const empty = Object.fromEntries(CONFIG_ROWS.map(([k]) => [k, MISSING])) as Record<ConfigRow, string>;
      columns.push({ run, group: 0, weights: [], cells: { ...empty, ...shared }, preview: null });
      continue;
    }
    let group = 0;
    for (const members of groups.values()) {
      const names = members.map((w) => w.path);
      columns.push({
        run,
        group: group++,
        weights: names,
        cells: {
          weights: groups.size === 1 ? `all ${names.length}` : names.join(", "),
          ...weightCells(members[0]!),
          ...shared,
        },
        preview: weightPreview(members[0]!),
      });
    }
  }
  return columns;
}
