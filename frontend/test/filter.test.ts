import { describe, expect, it } from "vitest";
import { compileFilter, filterNames } from "../src/transforms/filter";

const NAMES = ["dense/kernel", "dense_1/kernel", "conv2d/kernel", "Dense_2/bias"];

describe("name filters", () => {
  it("test_empty_filter_matches_everything", () => {
    expect(filterNames(NAMES, "")).toEqual(NAMES);
  });
  it("test_filter_is_a_case_insensitive_regex", () => {
    expect(filterNames(NAMES, "^dense_\\d")).toEqual(["dense_1/kernel", "Dense_2/bias"]);
    expect(compileFilter("^dense_\\d").error).toBeNull();
  });
  it("test_invalid_regex_falls_back_to_substring_and_reports", () => {
    const f = compileFilter("dense_1/(");
    expect(f.error).not.toBeNull();
    expect(NAMES.filter((n) => f.test(n))).toEqual([]);
    expect(filterNames(["a(b", "ab"], "A(")).toEqual(["a(b"]);
  });
});
