// uPlot charts: the two shapes this plugin draws (lines over steps, and x/y
// trajectories) with the plugin's conventions: width follows the container,
// the container says how many series it drew (data-series-count, for browser
// tests), and the chart is destroyed with its view.

import uPlot from "uplot";
import { formatCountTick } from "../transforms/format";
import { readoutItems } from "../transforms/readout";
import type { AlignedTable } from "../transforms/series";
import { el, swatch } from "./dom";
import type { Scope } from "./scope";
import { chartColors } from "./theme";

/** The plot's height: fixed, whatever the number of runs (no legend grows under it). */
const HEIGHT = 260;

/** One drawn series of a line chart. */
export interface LineSpec {
  label: string;
  color: string;
  dash?: number[];
  width?: number;
  /** Draw markers only, no line (e.g. the steps where a mask changed). */
  pointsOnly?: boolean;
  /** The run the series belongs to, for the hover readout (default: the label). */
  group?: string;
  /** The series' name in the readout after the run's first value, e.g. "target". */
  role?: string;
}

export interface LineChartSpec {
  title: string;
  xLabel: string;
  yLabel: string;
  lines: LineSpec[];
  table: AlignedTable;
  /** A fixed y range, e.g. [0, 1] for sparsity; automatic when absent. */
  yRange?: [number, number];
  yFormat?: (v: number) => string;
  /** The hover readout's number format (default yFormat). */
  readoutFormat?: (v: number) => string;
  /** Extra drawing after the series, in canvas pixels (e.g. a threshold line). */
  onDraw?: (u: uPlot) => void;
  /** An x value marked by a vertical dashed line (e.g. the step an alert points to); the box
   * says it in data-mark-x. */
  markX?: number | null;
}

/** A titled box that holds one chart; data-series-count is set once drawn. */
export function chartBox(testid: string, title: string): HTMLElement {
  return el("figure", { class: "chart", "data-testid": testid }, el("figcaption", { class: "chart-title" }, title));
}

function mount(box: HTMLElement, opts: uPlot.Options, data: uPlot.AlignedData, seriesCount: number, scope: Scope): uPlot {
  const width = () => Math.max(320, box.clientWidth - 8);
  const u = new uPlot({ ...opts, width: width(), height: HEIGHT }, data, box);
  box.setAttribute("data-series-count", String(seriesCount));
  const observer = new ResizeObserver(() => {
    const w = width();
    if (Math.abs(w - u.width) > 2) u.setSize({ width: w, height: HEIGHT });
  });
  observer.observe(box);
  scope.add(() => {
    observer.disconnect();
    u.destroy();
  });
  return u;
}

function axes(xLabel: string, yLabel: string, yFormat?: (v: number) => string): uPlot.Axis[] {
  const c = chartColors();
  return [
    { label: xLabel, stroke: c.axis, grid: { stroke: c.grid }, ticks: { stroke: c.grid } },
    {
      label: yLabel,
      stroke: c.axis,
      grid: { stroke: c.grid },
      ticks: { stroke: c.grid },
      size: 60,
      ...(yFormat
        ? { values: (_u: uPlot, splits: number[]) => splits.map((v) => (v === null || v === undefined ? "" : yFormat(v))) }
        : {}),
    },
  ];
}

/** Lines over a shared x (steps), with gaps spanned so each run's line stays whole. */
export function lineChart(box: HTMLElement, spec: LineChartSpec, scope: Scope): uPlot {
  const series: uPlot.Series[] = [{ label: spec.xLabel }];
  for (const [i, line] of spec.lines.entries()) {
    series.push(
      line.pointsOnly
        ? {
            label: line.label,
            stroke: line.color,
            fill: undefined,
            paths: () => null,
            points: { show: true, size: 9, stroke: line.color, fill: chartColors().background, width: 2 },
            value: (_u, v) => (v === null ? "" : spec.yFormat ? spec.yFormat(v) : String(v)),
          }
        : {
            label: line.label,
            stroke: line.color,
            width: line.width ?? 2,
            dash: line.dash,
            spanGaps: true,
            // Dots only for a series too short to draw a line; elsewhere circles mean "mask changed".
            points: { show: (spec.table.ys[i] ?? []).filter((v) => v !== null).length < 2 },
            value: (_u, v) => (v === null ? "\u2014" : spec.yFormat ? spec.yFormat(v) : String(v)),
          },
    );
  }
  const opts: uPlot.Options = {
    width: 0,
    height: 0,
    series,
    scales: {
      x: { time: false },
      y: spec.yRange ? { range: spec.yRange } : { auto: true },
    },
    axes: axes(spec.xLabel, spec.yLabel, spec.yFormat),
    // The sidebar's run colours are the legend; the view explains the line styles once.
    legend: { show: false },
    hooks: {
      draw: [spec.onDraw, spec.markX === null || spec.markX === undefined ? undefined : markLine(spec.markX)].filter(
        (f): f is (u: uPlot) => void => f !== undefined,
      ),
      setCursor: [(u: uPlot) => showReadout(readout, spec, u.cursor.idx ?? null)],
    },
  };
  const readout = el("div", { class: "chart-readout", "data-testid": "chart-readout", "aria-live": "off" });
  const u = mount(box, opts, [spec.table.x, ...spec.table.ys] as uPlot.AlignedData, spec.lines.length, scope);
  if (spec.markX !== null && spec.markX !== undefined) box.setAttribute("data-mark-x", String(spec.markX));
  else box.removeAttribute("data-mark-x");
  box.appendChild(readout);
  showReadout(readout, spec, null);
  return u;
}

/** Draws a vertical line at x value `x` across the plot of `u` (in a draw hook). */
export function drawVerticalLine(u: uPlot, x: number, style: { color: string; width: number; dash: number[] }): void {
  const at = u.valToPos(x, "x", true);
  const g = u.ctx;
  g.save();
  g.strokeStyle = style.color;
  g.lineWidth = style.width;
  g.setLineDash(style.dash);
  g.beginPath();
  g.moveTo(at, u.bbox.top);
  g.lineTo(at, u.bbox.top + u.bbox.height);
  g.stroke();
  g.restore();
}

/** A draw hook marking x value `x` with a dashed line in the axis colour (none off the plot). */
function markLine(x: number): (u: uPlot) => void {
  return (u) => {
    const at = u.valToPos(x, "x", true);
    if (!Number.isFinite(at) || at < u.bbox.left || at > u.bbox.left + u.bbox.width) return;
    drawVerticalLine(u, x, { color: chartColors().axis, width: 1.5, dash: [3, 3] });
  };
}

/**
 * Fills the readout under a chart with the values at aligned index `idx` (the hovered
 * step) of every drawn run, on a line of fixed height; a hint when nothing is hovered.
 */
function showReadout(readout: HTMLElement, spec: LineChartSpec, idx: number | null): void {
  if (idx === null || idx < 0 || idx >= spec.table.x.length) {
    readout.removeAttribute("data-step");
    readout.replaceChildren(el("span", { class: "hint" }, `Hover the chart for the values at a ${spec.xLabel}.`));
    return;
  }
  const format = spec.readoutFormat ?? spec.yFormat ?? ((v: number) => String(v));
  const lines = spec.lines.map((l) => ({ group: l.group ?? l.label, color: l.color, role: l.role ?? "", pointsOnly: l.pointsOnly }));
  const x = spec.table.x[idx]!;
  readout.setAttribute("data-step", String(x));
  readout.replaceChildren(
    el("span", { class: "readout-x" }, `${spec.xLabel} ${formatCountTick(x)}`),
    ...readoutItems(lines, spec.table.ys, idx, format).map((item) =>
      el(
        "span",
        { class: "readout-item", "data-testid": "readout-item", "data-run": item.group, title: item.text },
        swatch(item.color),
        item.text,
      ),
    ),
  );
}

/** One series of an x/y chart: its own x and y values, drawn as a line, markers, or both. */
export interface XYSpec {
  label: string;
  color: string;
  xs: number[];
  ys: number[];
  line: boolean;
  points: boolean;
  dash?: number[];
  pointSize?: number;
}

export interface XYChartSpec {
  title: string;
  xLabel: string;
  yLabel: string;
  xLog: boolean;
  xFormat?: (v: number) => string;
  series: XYSpec[];
}

/** A line through the points with a small circle at each point, as one path. */
const linesWithDots: uPlot.Series.PathBuilder = (u, seriesIdx, idx0, idx1) => {
  const line = uPlot.paths.linear!()(u, seriesIdx, idx0, idx1);
  const dots = uPlot.paths.points!()(u, seriesIdx, idx0, idx1);
  if (line && dots && line.stroke instanceof Path2D && dots.fill instanceof Path2D) line.stroke.addPath(dots.fill);
  return line;
};

/**
 * Series with their own x values (uPlot's faceted mode), e.g. accuracy
 * against sparsity, where one run has many points at the same sparsity.
 */
export function xyChart(box: HTMLElement, spec: XYChartSpec, scope: Scope): uPlot {
  const series: uPlot.Series[] = [{}];
  const data: unknown[] = [null];
  for (const s of spec.series) {
    series.push({
      label: s.label,
      stroke: s.color,
      fill: s.points && !s.line ? s.color : undefined,
      width: s.line ? 2 : 1,
      dash: s.dash,
      paths: s.line ? (s.points ? linesWithDots : uPlot.paths.linear!()) : uPlot.paths.points!(),
      // The dots are drawn by the path builder (uPlot's own markers are for aligned data);
      // it reads their size and outline width from here.
      points: { show: false, size: s.line ? (s.pointSize ?? 6) : (s.pointSize ?? 11), width: 1 },
    } as uPlot.Series);
    data.push([s.xs, s.ys]);
  }
  const c = chartColors();
  const xAxis: uPlot.Axis = { label: spec.xLabel, stroke: c.axis, grid: { stroke: c.grid }, ticks: { stroke: c.grid } };
  if (spec.xFormat) {
    const f = spec.xFormat;
    // Log axes pass null for the minor ticks that get no label.
    xAxis.values = (_u, splits) => splits.map((v) => (v === null || v === undefined ? "" : f(v)));
  }
  const opts: uPlot.Options = {
    mode: 2 as uPlot.Mode,
    width: 0,
    height: 0,
    series,
    scales: {
      x: { time: false, distr: spec.xLog ? 3 : 1, auto: true },
      y: { auto: true },
    },
    axes: [xAxis, axes(spec.xLabel, spec.yLabel)[1]!],
    // The sidebar's run colours are the legend.
    legend: { show: false },
    cursor: { drag: { x: false, y: false } },
  };
  return mount(box, opts, data as uPlot.AlignedData, spec.series.length, scope);
}
