import { describe, expect, it } from "vitest";
import { DEFAULT_STATE, decodeState, encodeState, type ViewState } from "../src/transforms/url_state";

const FULL: ViewState = {
  tab: "masks",
  runs: ["tfmot_poly", "a&b c"],
  runFilter: "^tf",
  weightFilter: "dense_\\d",
  focusRun: "tfmot_poly",
  focusWeight: "dense/kernel",
  step: 20,
  diff: false,
  compare: "tfmot_const",
  region: { row0: 8, col0: 16, rows: 16, cols: 32 },
  metric: "epoch/val_accuracy",
  better: "lower",
  xAxis: "remaining",
};

describe("URL state", () => {
  it("test_defaults_encode_to_an_empty_hash", () => {
    expect(encodeState({ ...DEFAULT_STATE })).toBe("");
    expect(decodeState("")).toEqual(DEFAULT_STATE);
    expect(decodeState("#")).toEqual(DEFAULT_STATE);
  });
  it("test_full_state_encodes_exactly", () => {
    expect(encodeState(FULL)).toBe(
      "tab=masks&run=tfmot_poly&run=a%26b+c&runFilter=%5Etf&weightFilter=dense_%5Cd" +
        "&focusRun=tfmot_poly&focusWeight=dense%2Fkernel&step=20&diff=0&compare=tfmot_const&region=8%2C16%2C16%2C32" +
        "&metric=epoch%2Fval_accuracy&better=lower&x=remaining",
    );
  });
  it("test_state_round_trips_with_and_without_hash_sign", () => {
    expect(decodeState(encodeState(FULL))).toEqual(FULL);
    expect(decodeState("#" + encodeState(FULL))).toEqual(FULL);
  });
  it("test_empty_selection_differs_from_all_runs", () => {
    const none = { ...DEFAULT_STATE, runs: [] };
    expect(encodeState(none)).toBe("norun=1");
    expect(decodeState("norun=1").runs).toEqual([]);
    expect(decodeState("").runs).toBeNull();
  });
  it("test_unreadable_values_fall_back_to_defaults", () => {
    const s = decodeState("tab=nope&step=1.5&region=1,2,0,4&x=log&diff=yes&better=up");
    expect(s.better).toBeNull();
    expect(s.tab).toBe("overview");
    expect(s.step).toBeNull();
    expect(s.region).toBeNull();
    expect(s.xAxis).toBe("sparsity");
    expect(s.diff).toBe(true);
    expect(decodeState("region=1,2,3").region).toBeNull();
    expect(decodeState("step=-1").step).toBe(-1);
  });
});
