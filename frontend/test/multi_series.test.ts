import { describe, expect, it } from "vitest";
import { MAX_RUNS_PER_REQUEST, fieldsParam, runChunks, seriesByRun } from "../src/transforms/multi_series";
import { WEIGHT_SERIES_MULTI } from "./fixtures";

describe("runChunks", () => {
  it("test_250_runs_make_chunks_of_100_100_50_in_order", () => {
    const runs = Array.from({ length: 250 }, (_, i) => `run_${i}`);
    const chunks = runChunks(runs);
    expect(MAX_RUNS_PER_REQUEST).toBe(100);
    expect(chunks.map((c) => c.length)).toEqual([100, 100, 50]);
    expect(chunks.flat()).toEqual(runs);
    expect(chunks[1]![0]).toBe("run_100");
  });
  it("test_long_names_split_by_encoded_length", () => {
    // "&run=" (5) + 10 encoded characters = 15 per run: two fit in 30, the third starts a chunk.
    const runs = ["aaaaaaaaaa", "bbbbbbbbbb", "cccccccccc"];
    expect(runChunks(runs, 100, 30)).toEqual([["aaaaaaaaaa", "bbbbbbbbbb"], ["cccccccccc"]]);
    // "<" encodes to 3 characters: "&run=" + 9 = 14 per run, two fit in 28.
    expect(runChunks(["<<<", "<<<", "<<<"], 100, 28)).toEqual([["<<<", "<<<"], ["<<<"]]);
  });
  it("test_a_run_longer_than_the_limit_gets_its_own_chunk_and_empty_gives_none", () => {
    expect(runChunks(["a", "x".repeat(50), "b"], 100, 20)).toEqual([["a"], ["x".repeat(50)], ["b"]]);
    expect(runChunks([])).toEqual([]);
  });
});

describe("seriesByRun", () => {
  it("test_each_requested_run_gets_its_series_or_null_when_missing", () => {
    const byRun = seriesByRun(["tfmot_poly", "empty_run", "manual_const"], WEIGHT_SERIES_MULTI);
    expect([...byRun.keys()]).toEqual(["manual_const", "tfmot_poly", "empty_run"]);
    expect(byRun.get("tfmot_poly")!.steps).toEqual([0, 10, 20, 30]);
    expect(byRun.get("manual_const")!.fields.sparsity).toEqual([0.0, 0.5, 0.5]);
    expect(byRun.get("empty_run")).toBeNull();
  });
  it("test_an_answer_that_leaves_out_or_adds_a_run_throws_naming_it", () => {
    expect(() => seriesByRun(["tfmot_poly", "manual_const", "empty_run", "other"], WEIGHT_SERIES_MULTI)).toThrow(
      'the answer has no series for run "other" and does not list it as missing',
    );
    expect(() => seriesByRun(["tfmot_poly", "empty_run"], WEIGHT_SERIES_MULTI)).toThrow(
      'the answer holds run "manual_const", which was not asked for',
    );
    expect(() => seriesByRun(["a"], { series: [], missing: ["b"] })).toThrow(
      'the answer lists run "b" as missing, which was not asked for',
    );
  });
});

describe("fieldsParam", () => {
  it("test_fields_are_sorted_and_deduplicated", () => {
    expect(fieldsParam(["target_sparsity", "sparsity", "mask_changed", "sparsity"])).toBe(
      "mask_changed,sparsity,target_sparsity",
    );
    expect(fieldsParam([])).toBe("");
  });
});
