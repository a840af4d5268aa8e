// The line charts of the Structure, Configuration and Weight statistics views, drawn with
// the project's uPlot wrapper; each figure also keeps what it drew (`chartData`: series
// labels, the shared steps, one value array per series, null where a series has no point),
// so a browser test can compare the drawn series with the route's values exactly.

import type uPlot from "uplot";
import { lineChart, type LineChartSpec } from "../ui/chart";
import type { Scope } from "../ui/scope";

/** What a chart drew, as kept on its figure element. */
export interface DrawnChart {
  labels: string[];
  x: number[];
  ys: (number | null)[][];
}

/** `lineChart`, keeping the drawn table on `box` as `chartData`. */
export function drawnLineChart(box: HTMLElement, spec: LineChartSpec, scope: Scope): uPlot {
  const u = lineChart(box, spec, scope);
  (box as HTMLElement & { chartData?: DrawnChart }).chartData = {
    labels: spec.lines.map((l) => l.label),
    x: spec.table.x,
    ys: spec.table.ys,
  };
  return u;
}
