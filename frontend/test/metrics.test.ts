import { describe, expect, it } from "vitest";
import {
  defaultMetric,
  joinMetricWithSparsity,
  lowerIsBetter,
  metricLowerIsBetter,
  metricKeys,
  sparsityToX,
  splitMetricKey,
} from "../src/transforms/metrics";
import { METRICS, MODEL_SERIES, RUNS } from "./fixtures";

describe("metric choice", () => {
  it("test_metric_keys_epoch_first_sorted_and_deduplicated", () => {
    expect(metricKeys(RUNS.runs)).toEqual([
      "epoch/accuracy",
      "epoch/loss",
      "epoch/val_accuracy",
      "epoch/val_loss",
      "batch/accuracy",
      "batch/loss",
    ]);
  });
  it("test_default_prefers_val_accuracy_then_accuracy_then_loss", () => {
    expect(defaultMetric(metricKeys(RUNS.runs))).toBe("epoch/val_accuracy");
    expect(defaultMetric(["batch/accuracy", "epoch/loss"])).toBe("batch/accuracy");
    expect(defaultMetric(["epoch/loss", "batch/loss"])).toBe("epoch/loss");
    expect(defaultMetric(["epoch/auc"])).toBe("epoch/auc");
    expect(defaultMetric([])).toBeNull();
  });
  it("test_split_metric_key_keeps_slashes_in_names", () => {
    expect(splitMetricKey("epoch/val_accuracy")).toEqual({ scope: "epoch", name: "val_accuracy" });
    expect(splitMetricKey("batch/head/loss")).toEqual({ scope: "batch", name: "head/loss" });
    expect(splitMetricKey("train/loss")).toBeNull();
    expect(splitMetricKey("loss")).toBeNull();
  });
  it("test_loss_and_error_measures_are_lower_is_better", () => {
    for (const name of [
      "loss",
      "val_loss",
      "mse",
      "val_mse",
      "mae",
      "val_mae",
      "rmse",
      "root_mean_squared_error",
      "MAPE",
      "mean_absolute_percentage_error",
      "mean_absolute_Error",
      "perplexity",
      "val_perplexity",
      "sparse_categorical_crossentropy",
    ]) {
      expect([name, lowerIsBetter(name)]).toEqual([name, true]);
    }
  });
  it("test_accuracy_like_metrics_are_higher_is_better", () => {
    for (const name of ["accuracy", "val_accuracy", "auc", "precision", "recall", "f1_score", "top_5_accuracy", "r2_score"]) {
      expect([name, lowerIsBetter(name)]).toEqual([name, false]);
    }
  });
  it("test_the_users_choice_overrides_the_name", () => {
    expect(metricLowerIsBetter("val_mse", null)).toBe(true);
    expect(metricLowerIsBetter("val_mse", "higher")).toBe(false);
    expect(metricLowerIsBetter("val_accuracy", null)).toBe(false);
    expect(metricLowerIsBetter("val_accuracy", "lower")).toBe(true);
  });
});

describe("joinMetricWithSparsity", () => {
  it("test_each_metric_step_takes_the_latest_sparsity_at_or_before_it", () => {
    const m = METRICS.epoch.val_accuracy!;
    const g = MODEL_SERIES.fields.global_sparsity!;
    expect(joinMetricWithSparsity(m.steps, m.values, MODEL_SERIES.steps, g)).toEqual([
      { step: 5, sparsity: 0, sparsityStep: 0, value: 0.88 },
      { step: 15, sparsity: 0.3, sparsityStep: 10, value: 0.91 },
    ]);
  });
  it("test_same_step_matches_and_earlier_steps_are_dropped", () => {
    expect(joinMetricWithSparsity([10, 3, 20], [1, 2, 3], [5, 20, 10], [0.1, 0.5, null])).toEqual([
      { step: 10, sparsity: 0.1, sparsityStep: 5, value: 1 },
      { step: 20, sparsity: 0.5, sparsityStep: 20, value: 3 },
    ]);
  });
  it("test_no_model_stats_gives_no_points", () => {
    expect(joinMetricWithSparsity([1, 2], [0.5, 0.6], [], [])).toEqual([]);
  });
});

describe("sparsityToX", () => {
  it("test_sparsity_or_percent_remaining", () => {
    expect(sparsityToX(0.75, "sparsity")).toBe(0.75);
    expect(sparsityToX(0.75, "remaining")).toBe(25);
    expect(sparsityToX(1, "remaining")).toBeNull();
  });
});
