import { describe, expect, it } from "vitest";
import { MISSING, formatBytes, formatCount, formatCountTick, formatNumber, formatPercent, formatShape } from "../src/transforms/format";

describe("formatting", () => {
  it("test_counts_have_thousands_separators", () => {
    expect(formatCount(1234567)).toBe("1,234,567");
    expect(formatCount(205)).toBe("205");
    expect(formatCount(-1000)).toBe("-1,000");
    expect(formatCount(null)).toBe(MISSING);
  });
  it("test_percent", () => {
    expect(formatPercent(0.8999)).toBe("89.99%");
    expect(formatPercent(1)).toBe("100.00%");
    expect(formatPercent(0.5, 0)).toBe("50%");
    expect(formatPercent(null)).toBe(MISSING);
  });
  it("test_numbers_three_significant_digits", () => {
    expect(formatNumber(0.11734)).toBe("0.117");
    expect(formatNumber(0)).toBe("0");
    expect(formatNumber(12345)).toBe("1.23e+4");
    expect(formatNumber(0.0001234)).toBe("1.23e-4");
    expect(formatNumber(Number.NaN)).toBe(MISSING);
  });
  it("test_bytes_in_binary_units", () => {
    expect(formatBytes(9640)).toBe("9.4 KiB");
    expect(formatBytes(512)).toBe("512 B");
    expect(formatBytes(3 * 1024 * 1024)).toBe("3.0 MiB");
  });
  it("test_shape_like_the_csv", () => {
    expect(formatShape([3, 3, 16, 32])).toBe("3x3x16x32");
    expect(formatShape([])).toBe("scalar");
    // Regression: an overview row without a mask record (shape null) crashed the Overview.
    expect(formatShape(null)).toBe(MISSING);
  });
});

describe("formatCountTick", () => {
  it("test_whole_ticks_as_counts_fractions_as_numbers", () => {
    expect(formatCountTick(2000)).toBe("2,000");
    expect(formatCountTick(1.5)).toBe("1.5");
  });
});
