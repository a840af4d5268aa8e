import { describe, expect, it } from "vitest";
import { PALETTE, fnv1a, hexToRgb, runColor } from "../src/transforms/colors";

describe("run colours", () => {
  it("test_fnv1a_matches_reference_vectors", () => {
    expect(fnv1a("")).toBe(0x811c9dc5);
    expect(fnv1a("a")).toBe(0xe40c292c);
    expect(fnv1a("foobar")).toBe(0xbf9cf968);
  });
  it("test_run_color_is_the_palette_entry_of_the_hash", () => {
    expect(runColor("a")).toBe(PALETTE[0xe40c292c % 10]);
    expect(runColor("foobar")).toBe(PALETTE[0xbf9cf968 % 10]);
  });
  it("test_run_color_is_stable_and_independent_of_other_runs", () => {
    expect(runColor("tfmot_poly")).toBe(runColor("tfmot_poly"));
    expect(PALETTE).toContain(runColor("tfmot_poly"));
  });
  it("test_hex_to_rgb", () => {
    expect(hexToRgb("#4e79a7")).toEqual([78, 121, 167]);
  });
});
