import { describe, expect, it } from "vitest";
import { changedRuns } from "../src/transforms/run_changes";
import type { RunInfo } from "../src/types";
import { RUNS } from "./fixtures";

describe("changedRuns", () => {
  it("test_runs_with_new_steps_added_and_removed_runs_are_listed", () => {
    const [manual, poly] = RUNS.runs as [RunInfo, RunInfo];
    const later: RunInfo = { ...poly, last_step: 130 };
    const added: RunInfo = { ...manual, run: "new_run" };
    expect(changedRuns(RUNS.runs, RUNS.runs)).toEqual([]);
    expect(changedRuns(RUNS.runs, [manual, later])).toEqual(["tfmot_poly"]);
    expect(changedRuns(RUNS.runs, [manual, added])).toEqual(["new_run", "tfmot_poly"]);
    expect(changedRuns([], [manual])).toEqual(["manual_const"]);
  });
});
