import { describe, expect, it } from "vitest";
import { routeUrl, runsParam } from "../src/transforms/query";

describe("routeUrl", () => {
  it("test_route_without_params_is_relative", () => {
    expect(routeUrl("runs")).toBe("./runs");
  });
  it("test_route_repeats_array_params_and_escapes_names", () => {
    expect(routeUrl("overview", { run: ["a b", "c/d&e"] })).toBe("./overview?run=a+b&run=c%2Fd%26e");
  });
  it("test_route_flags_and_missing_values", () => {
    expect(routeUrl("mask", { run: "r", step: 20, diff: true, row0: undefined, x: null, y: false })).toBe(
      "./mask?run=r&step=20&diff=1",
    );
  });
  it("test_route_empty_run_list_means_all_runs", () => {
    expect(routeUrl("overview.csv", { run: [] })).toBe("./overview.csv");
  });
});

describe("runsParam", () => {
  it("test_every_listed_run_shown_sends_no_run_parameter", () => {
    const names = Array.from({ length: 3000 }, (_, i) => `a_rather_long_run_name_${i}`);
    expect(runsParam(names, names.length)).toEqual([]);
    expect(routeUrl("overview", { run: runsParam(names, names.length) })).toBe("./overview");
  });
  it("test_a_selection_is_sent_as_it_is", () => {
    expect(runsParam(["b", "a"], 3)).toEqual(["b", "a"]);
    expect(runsParam([], 2)).toEqual([]);
  });
});
