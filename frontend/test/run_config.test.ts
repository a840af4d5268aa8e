import { describe, expect, it } from "vitest";
import { CONFIG_ROWS, configColumns, recordedEvery } from "../src/transforms/run_config";
import type { RunConfig } from "../src/types";
// The demo's tfmot_poly_90 as GET /config sends it (model_summary cut to its first line).
import poly from "./fixtures/config.json";

const POLY = poly as RunConfig;

describe("configColumns", () => {
  it("test_one_column_for_a_run_whose_weights_share_a_schedule", () => {
    const [column, ...rest] = configColumns([{ run: "poly", config: POLY }]);
    expect(rest).toEqual([]);
    expect(column!.weights).toEqual(["fc1/kernel", "fc2/kernel", "logits/kernel"]);
    expect(column!.cells).toEqual({
      weights: "all 3",
      method: "tfmot",
      schedule: "PolynomialDecay",
      initial_sparsity: "0",
      final_sparsity: "0.9",
      begin_step: "10",
      end_step: "92",
      frequency: "10",
      power: "3",
      block_size: "\u2014",
      block_pooling: "\u2014",
      nm: "\u2014",
      optimizer: "Adam",
      learning_rate: "0.003",
      every_n_steps: "every step",
      keras: "tf_keras 2.21.0",
    });
    expect(Object.keys(column!.cells)).toEqual(CONFIG_ROWS.map(([k]) => k));
    expect(column!.preview).toEqual({ kind: "polynomial", initial: 0, final: 0.9, begin: 10, end: 92, power: 3, frequency: 10 });
  });

  it("test_a_column_per_setting_when_weights_differ_and_none_for_a_missing_config", () => {
    const config: RunConfig = {
      method: "tfmot",
      every_n_steps: 2,
      optimizer: { class: "SGD", config: { learning_rate: { class_name: "ExponentialDecay", config: {} } } },
      weights: [
        {
          path: "hidden/kernel",
          method: "tfmot",
          block_size: [2, 2],
          block_pooling_type: "MAX",
          sparsity_m_by_n: null,
          schedule: { class: "ConstantSparsity", config: { class_name: "ConstantSparsity", config: { target_sparsity: 0.5, begin_step: 0, end_step: -1, frequency: 4 } } },
        },
        {
          path: "logits/kernel",
          method: "tfmot",
          block_size: null,
          block_pooling_type: null,
          sparsity_m_by_n: [2, 4],
          schedule: { class: "ConstantSparsity", config: { class_name: "ConstantSparsity", config: { target_sparsity: 0.5, begin_step: 0, end_step: -1, frequency: 100 } } },
        },
        { path: "extra/kernel", method: "manual", schedule: null },
      ],
    };
    const columns = configColumns([
      { run: "mixed", config },
      { run: "old", config: null },
    ]);
    expect(columns.map((c) => [c.run, c.group, c.cells.weights])).toEqual([
      ["mixed", 0, "hidden/kernel"],
      ["mixed", 1, "logits/kernel"],
      ["mixed", 2, "extra/kernel"],
      ["old", 0, "\u2014"],
    ]);
    const [block, nm, manual, old] = columns;
    expect([block!.cells.block_size, block!.cells.block_pooling, block!.cells.nm]).toEqual(["2x2", "MAX", "\u2014"]);
    expect([block!.cells.initial_sparsity, block!.cells.final_sparsity, block!.cells.end_step]).toEqual(["\u2014", "0.5", "-1 (no end)"]);
    expect(block!.preview).toEqual({ kind: "constant", target: 0.5, begin: 0, end: -1, frequency: 4 });
    expect([nm!.cells.nm, nm!.cells.frequency]).toEqual(["2 zeros per 4", "100"]);
    expect(nm!.preview).toEqual({ kind: "nm", zeros: 2, n: 4 });
    expect([manual!.cells.method, manual!.cells.schedule, manual!.preview]).toEqual(["manual", "\u2014", null]);
    expect([block!.cells.optimizer, block!.cells.learning_rate, block!.cells.every_n_steps]).toEqual(["SGD", "ExponentialDecay", "every 2 steps"]);
    expect(Object.values(old!.cells).every((v) => v === "\u2014")).toBe(true);
    expect(old!.preview).toBeNull();
  });
});

describe("recordedEvery", () => {
  it("test_default_policy_every_n_and_old_logs", () => {
    expect(recordedEvery({ every_n_steps: null, overhead_budget: 0.02 })).toBe("each mask change; others within 2% of training time");
    expect(recordedEvery({ every_n_steps: null, overhead_budget: 0.005 })).toBe("each mask change; others within 0.5% of training time");
    expect(recordedEvery({ every_n_steps: null })).toBe("each mask change; others within \u2014 of training time");
    expect(recordedEvery({ every_n_steps: 1 })).toBe("every step");
    expect(recordedEvery({ every_n_steps: 10 })).toBe("every 10 steps");
    expect(recordedEvery({ every_n_steps: 1, histogram_every_n_steps: 100 })).toBe(
      "every step; histograms at mask changes and every 100 steps",
    );
    expect(recordedEvery({ every_n_steps: 5, histogram_every_n_steps: 1 })).toBe("every 5 steps; histograms in every record");
    expect(recordedEvery({})).toBe("\u2014");
  });
});
