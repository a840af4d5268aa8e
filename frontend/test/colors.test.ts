import { describe, expect, it } from "vitest";
import { EXTRA_PALETTE, PALETTE, assignRunColors, fnv1a, hexToRgb, runColor } from "../src/transforms/colors";

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

describe("assignRunColors", () => {
  it("test_colliding_runs_get_distinct_colours_in_name_order", () => {
    const names = ["tfmot_poly", "conv_poly", "tfmot_const"];
    const colours = assignRunColors(names);
    expect(new Set(colours.values()).size).toBe(3);
    // conv_poly sorts first, so it always keeps its own hash colour.
    expect(colours.get("conv_poly")).toBe(runColor("conv_poly"));
  });
  it("test_assignment_is_independent_of_input_order_and_duplicates", () => {
    const a = assignRunColors(["b", "a", "c", "a"]);
    const b = assignRunColors(["c", "b", "a"]);
    expect([...a.entries()].sort()).toEqual([...b.entries()].sort());
  });
  it("test_probing_takes_the_next_free_slot", () => {
    // Find two names with the same home slot, then check the later one moves one slot on.
    const home = (n: string) => fnv1a(n) % PALETTE.length;
    const first = "run0";
    let second = "";
    for (let i = 1; !second; i++) if (home(`run${i}`) === home(first)) second = `run${i}`;
    const colours = assignRunColors([first, second]);
    expect(colours.get(first)).toBe(PALETTE[home(first)]);
    expect(colours.get(second)).toBe(PALETTE[(home(first) + 1) % PALETTE.length]);
  });
  it("test_up_to_20_runs_have_20_colours_then_they_repeat_by_hash", () => {
    const names = Array.from({ length: 22 }, (_, i) => `r${String(i).padStart(2, "0")}`);
    const colours = assignRunColors(names);
    // The first ten (in name order) take PALETTE, the next ten EXTRA_PALETTE.
    expect(new Set(names.slice(0, 10).map((n) => colours.get(n)))).toEqual(new Set(PALETTE));
    expect(new Set(names.slice(10, 20).map((n) => colours.get(n)))).toEqual(new Set(EXTRA_PALETTE));
    expect(colours.get("r20")).toBe(runColor("r20"));
    expect(colours.get("r21")).toBe(runColor("r21"));
  });
});
