// Number formatting for tables and labels. Missing values show as an em dash
// rather than "null" or "NaN", which would read like data.

export const MISSING = "\u2014";

/** 1234567 -> "1,234,567". */
export function formatCount(value: number | null | undefined): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return MISSING;
  const sign = value < 0 ? "-" : "";
  const digits = String(Math.round(Math.abs(value)));
  return sign + digits.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
}

/** A fraction as a percentage: 0.8999 -> "89.99%". */
export function formatPercent(value: number | null | undefined, decimals = 2): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return MISSING;
  return (value * 100).toFixed(decimals) + "%";
}

/** Three significant digits: 0.11734 -> "0.117", 1234.5 -> "1.23e+3". */
export function formatNumber(value: number | null | undefined): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return MISSING;
  if (value === 0) return "0";
  const abs = Math.abs(value);
  if (abs >= 1e4 || abs < 1e-3) return value.toExponential(2);
  return String(Number(value.toPrecision(3)));
}

/** Bytes in binary units: 9640 -> "9.4 KiB". */
export function formatBytes(value: number | null | undefined): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return MISSING;
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let v = value;
  let u = 0;
  while (Math.abs(v) >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${v} B` : `${v.toFixed(1)} ${units[u]}`;
}

/** A shape as the CSV writes it: [64, 32] -> "64x32"; a scalar's [] -> "scalar". */
export function formatShape(shape: readonly number[] | null): string {
  if (shape === null) return MISSING;
  return shape.length ? shape.join("x") : "scalar";
}

/** An axis tick for counts: whole numbers with separators, fractions (between whole ticks) as numbers. */
export function formatCountTick(value: number): string {
  return Number.isInteger(value) ? formatCount(value) : formatNumber(value);
}
