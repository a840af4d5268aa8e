import { describe, expect, it } from "vitest";
import { routeUrl } from "../src/transforms/query";

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
