import { describe, expect, it } from "vitest";
import { denseCandidates, holdsTraining, runKind } from "../src/transforms/run_kind";
import type { OverviewResponse, RunInfo } from "../src/types";

const run = (name: string, method: RunInfo["method"]): RunInfo => ({
  run: name,
  weights: ["fc/kernel"],
  metrics: { epoch: [], batch: [] },
  last_step: 10,
  method,
});
const row = (name: string, sparsity: number | null, target: number | null) => ({
  run: name,
  weight: "fc/kernel",
  shape: [4, 2],
  size: 8,
  nonzeros: 8,
  sparsity,
  target_sparsity: target,
  threshold: null,
  step: 10,
});
const model = (name: string, global: number | null) => ({
  run: name,
  step: 10,
  global_sparsity: global,
  prunable_size: 8,
  prunable_nonzeros: 8,
  model_size: 10,
  model_nonzeros: 10,
  dense_bytes: 40,
  sparse_bytes: 40,
});

describe("run kinds", () => {
  const runs = [run("dense", "manual"), run("manual", "manual"), run("tfmot", "tfmot"), run("zero_target", null), run("target", "manual")];
  const overview: OverviewResponse = {
    rows: [row("dense", 0, null), row("manual", 0.5, 0.5), row("tfmot", 0, 0), row("zero_target", 0, 0), row("target", 0, 0.8)],
    runs: [model("dense", 0), model("manual", 0.5), model("tfmot", 0), model("target", 0)],
  };
  it("test_dense_candidates_are_unpruned_without_a_target_and_not_tfmot", () => {
    expect(denseCandidates(runs, overview)).toEqual(["dense", "zero_target"]);
  });
  it("test_a_candidate_at_sparsity_0_throughout_is_dense", () => {
    expect(runKind(runs[0]!, true, [0, 0, 0])).toBe("dense");
    expect(runKind(runs[3]!, true, [null, 0])).toBe("dense");
  });
  it("test_a_candidate_that_was_pruned_at_some_step_keeps_its_method", () => {
    // The regression: the demo's unpruned baseline was labelled "manual".
    expect(runKind(runs[0]!, true, [0, 0.3, 0])).toBe("manual");
  });
  it("test_without_series_or_as_no_candidate_the_method_stays", () => {
    expect(runKind(runs[0]!, true, null)).toBe("manual");
    expect(runKind(runs[0]!, true, [])).toBe("manual");
    expect(runKind(runs[1]!, false, [0])).toBe("manual");
    expect(runKind(runs[2]!, false, [0])).toBe("tfmot");
  });
});

describe("holdsTraining", () => {
  it("test_a_run_of_scans_alone_holds_no_training", () => {
    const scan: RunInfo = { run: "scan", weights: [], metrics: { epoch: [], batch: [] }, last_step: 0, method: null };
    expect(holdsTraining(scan)).toBe(false);
    expect(holdsTraining(run("poly", "tfmot"))).toBe(true);
    expect(holdsTraining({ ...scan, metrics: { epoch: ["loss"], batch: [] } })).toBe(true);
    expect(holdsTraining({ ...scan, metrics: { epoch: [], batch: ["loss"] } })).toBe(true);
  });
});
