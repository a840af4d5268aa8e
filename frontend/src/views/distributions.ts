// Weight distributions: the |w| histogram of the kept weights at every
// recorded step of one weight, as a steps x value heatmap with each step's
// threshold marked, and one chosen step's histogram as a chart.

import type uPlot from "uplot";
import { isAbort } from "../api";
import { formatCount, formatCountTick, formatNumber } from "../transforms/format";
import { rasterizeHistograms, type HistogramRaster } from "../transforms/histogram";
import type { HistogramsResponse } from "../types";
import { chartBox, drawVerticalLine, lineChart } from "../ui/chart";
import { el, replaceChildren } from "../ui/dom";
import { Scope } from "../ui/scope";
import { errorState, loadingState, noticeState } from "../ui/states";
import { withFocus, type Focus } from "./focus";
import type { ViewContext } from "./view";

const COLUMNS = 512;
const THRESHOLD_RGB = [214, 39, 40];

export function distributionsView(root: HTMLElement, ctx: ViewContext): void {
  withFocus(root, ctx, (focus) => show(root, ctx, focus));
}

function show(root: HTMLElement, ctx: ViewContext, focus: Focus): void {
  root.appendChild(focus.controls);
  const body = el("div", { class: "distributions" }, loadingState("the histograms"));
  root.appendChild(body);
  ctx.api.histograms(focus.run.run, focus.weight).then(
    (h) => {
      if (!ctx.ticket.isCurrent()) return;
      body.replaceChildren();
      if (!h.steps.length) {
        body.appendChild(noticeState(`No histogram of ${focus.weight} was recorded in ${focus.run.run}.`));
        return;
      }
      draw(body, h, ctx);
    },
    (e) => {
      if (ctx.ticket.isCurrent() && !isAbort(e)) replaceChildren(body, errorState(e, "the histograms"));
    },
  );
}

/** White to dark blue; sqrt so that small counts next to a tall peak stay visible. */
function shade(v: number, max: number): [number, number, number] {
  const t = max > 0 ? Math.sqrt(v / max) : 0;
  return [Math.round(255 - t * (255 - 8)), Math.round(255 - t * (255 - 48)), Math.round(255 - t * (255 - 107))];
}

function paint(canvas: HTMLCanvasElement, raster: HistogramRaster, rowHeight: number): void {
  const width = COLUMNS;
  const height = raster.rows.length * rowHeight;
  canvas.width = width;
  canvas.height = height;
  const image = new ImageData(width, height);
  raster.rows.forEach((row, r) => {
    const max = row.reduce((a, b) => Math.max(a, b), 0);
    const line = new Uint8ClampedArray(width * 4);
    for (let c = 0; c < width; c++) {
      const [R, G, B] = shade(row[c]!, max);
      line.set([R, G, B, 255], c * 4);
    }
    const t = raster.thresholdColumns[r];
    if (t !== null && t !== undefined) {
      // Two pixels wide so it stays visible next to dark cells.
      line.set([...THRESHOLD_RGB, 255], t * 4);
      if (t + 1 < width) line.set([...THRESHOLD_RGB, 255], (t + 1) * 4);
    }
    for (let d = 0; d < rowHeight; d++) image.data.set(line, (r * rowHeight + d) * width * 4);
  });
  canvas.getContext("2d")!.putImageData(image, 0, 0);
}

function draw(body: HTMLElement, h: HistogramsResponse, ctx: ViewContext): void {
  const raster = rasterizeHistograms(h, COLUMNS);
  const rowHeight = Math.max(2, Math.min(12, Math.floor(360 / h.steps.length)));
  const canvas = el("canvas", {
    id: "histogram-canvas",
    "data-testid": "histogram-canvas",
    class: "histogram-canvas",
    "data-steps": h.steps.length,
    "data-row-height": rowHeight,
    "data-lo": raster.lo,
    "data-hi": raster.hi,
  });
  paint(canvas, raster, rowHeight);
  const hover = el("div", { class: "hover-readout" }, "\u00a0");
  const chartHolder = el("div", {});

  // The step chart is replaced on each click; its own scope destroys the previous one.
  const stepScope = new Scope();
  ctx.scope.add(() => stepScope.dispose());
  const showStep = (i: number) => {
    stepScope.dispose();
    chartHolder.replaceChildren();
    const counts = h.counts[i] ?? [];
    const lo = h.lo[i];
    const hi = h.hi[i];
    const box = chartBox("chart-histogram", `|w| of kept weights at step ${formatCount(h.steps[i]!)}`);
    box.setAttribute("data-step", String(h.steps[i]));
    chartHolder.appendChild(box);
    if (lo === null || lo === undefined || hi === null || hi === undefined || !counts.length) {
      box.appendChild(noticeState("No kept weights at this step."));
      return;
    }
    const width = (hi - lo) / counts.length;
    const threshold = h.threshold[i] ?? null;
    lineChart(
      box,
      {
        title: "",
        xLabel: "|w|",
        yLabel: "kept weights",
        lines: [{ label: "count", color: "#08306b" }],
        table: { x: counts.map((_, b) => lo + (b + 0.5) * width), ys: [counts] },
        yFormat: formatCountTick,
        onDraw:
          threshold === null
            ? undefined
            : (u: uPlot) => drawVerticalLine(u, threshold, { color: `rgb(${THRESHOLD_RGB.join(",")})`, width: 2, dash: [5, 4] }),
      },
      stepScope,
    );
  };

  const rowAt = (e: MouseEvent) => {
    const rect = canvas.getBoundingClientRect();
    const r = Math.floor(((e.clientY - rect.top) / rect.height) * h.steps.length);
    const c = Math.floor(((e.clientX - rect.left) / rect.width) * COLUMNS);
    return { r: Math.max(0, Math.min(h.steps.length - 1, r)), c: Math.max(0, Math.min(COLUMNS - 1, c)) };
  };
  canvas.addEventListener("mousemove", (e) => {
    const { r, c } = rowAt(e);
    const colWidth = (raster.hi - raster.lo) / COLUMNS;
    const from = raster.lo + c * colWidth;
    const t = h.threshold[r];
    hover.textContent =
      `step ${formatCount(h.steps[r]!)}: |w| ${formatNumber(from)}\u2013${formatNumber(from + colWidth)}, ` +
      `about ${formatNumber(raster.rows[r]![c]!)} weights` +
      (t === null || t === undefined ? "" : `; threshold ${formatNumber(t)}`) +
      " (click to chart this step)";
  });
  canvas.addEventListener("mouseleave", () => (hover.textContent = "\u00a0"));
  canvas.addEventListener("click", (e) => showStep(rowAt(e).r));

  body.append(
    el(
      "p",
      { class: "intro" },
      "Each row is a recorded step (first at the top); shade is the share of the step's kept weights at that |w|; " +
        "the red mark is the step's pruning threshold.",
    ),
    el(
      "div",
      { class: "heatmap" },
      el("div", { class: "heatmap-y" }, el("span", {}, `step ${formatCount(h.steps[0]!)}`), el("span", {}, `step ${formatCount(h.steps[h.steps.length - 1]!)}`)),
      el(
        "div",
        {},
        canvas,
        el(
          "div",
          { class: "heatmap-x" },
          el("span", {}, formatNumber(raster.lo)),
          el("span", {}, "|w| of kept weights"),
          el("span", {}, formatNumber(raster.hi)),
        ),
      ),
    ),
    hover,
    chartHolder,
  );
  showStep(h.steps.length - 1);
}
