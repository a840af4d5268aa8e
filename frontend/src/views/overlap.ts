// Cross-run overlap, in the Mask stability view: per weight shared by two or more shown runs,
// the IoU of the runs' kept sets at their last masks as a runs x runs heatmap and a table of
// pairs, and the IoU over steps of each pair as a chart. Cells and rows say what they show in
// data attributes, so a browser test can compare them with /mask_overlap.

import { isAbort } from "../api";
import { formatNumber } from "../transforms/format";
import { PAIR_COLUMNS, heatmapCells, pairRows } from "../transforms/overlap";
import { alignSeries } from "../transforms/series";
import type { OverlapGroup } from "../types";
import { chartBox } from "../ui/chart";
import { el, replaceChildren } from "../ui/dom";
import { runColor } from "../ui/run_colors";
import { errorState, loadingState } from "../ui/states";
import { drawnLineChart } from "./drawn";
import { shownWeights, type ViewContext } from "./view";
import { MAX_WEIGHT_CHARTS } from "./weight_charts";

/** Appends the overlap of every shown weight that two or more shown runs have, loaded in turn. */
export async function overlapSection(root: HTMLElement, ctx: ViewContext): Promise<void> {
  const weights = shownWeights(ctx)
    .slice(0, MAX_WEIGHT_CHARTS)
    .map((weight) => ({ weight, runs: ctx.shownRuns.filter((r) => r.weights.includes(weight)).map((r) => r.run) }))
    .filter((w) => w.runs.length > 1);
  if (!weights.length) return;
  root.append(
    el("h3", {}, "Overlap between runs"),
    el(
      "p",
      { class: "intro" },
      "How alike the runs' kept weights are: |A \u2229 B| / |A \u222a B| of the kept sets (IoU), for runs whose " +
        "weight has the same shape. The heatmap and table compare each run's last mask; the chart compares the " +
        "masks in force at each step of the union of both runs' recorded steps.",
    ),
  );
  const blocks = weights.map(({ weight, runs }) => {
    const block = el("div", { class: "overlap", "data-testid": "overlap", "data-weight": weight }, el("h4", {}, weight));
    const body = el("div", {}, loadingState(`the overlap of ${weight}`));
    block.appendChild(body);
    root.appendChild(block);
    return { weight, runs, block, body };
  });
  for (const { weight, runs, block, body } of blocks) {
    if (!ctx.ticket.isCurrent()) return;
    try {
      const answer = await ctx.api.maskOverlap(weight, runs);
      if (!ctx.ticket.isCurrent()) return;
      body.remove();
      for (const group of answer.groups) {
        if (group.runs.length > 1) drawGroup(block, weight, group, ctx);
      }
    } catch (e) {
      if (ctx.ticket.isCurrent() && !isAbort(e)) replaceChildren(body, errorState(e, `the overlap of ${weight}`));
    }
  }
}

function drawGroup(block: HTMLElement, weight: string, group: OverlapGroup, ctx: ViewContext): void {
  const shape = group.shape.join("\u00d7");
  const heatmap = el(
    "table",
    { class: "iou-heatmap", "data-testid": "overlap-heatmap", "data-shape": shape },
    el("caption", {}, `IoU of the last masks (shape ${shape})`),
    el("tr", {}, el("th", {}, ""), ...group.runs.map((r) => el("th", { scope: "col" }, r))),
    ...heatmapCells(group).map((row, i) =>
      el(
        "tr",
        {},
        el("th", { scope: "row" }, group.runs[i]!),
        ...row.map((cell) => {
          const td = el(
            "td",
            {
              "data-testid": "overlap-cell",
              "data-row": cell.row,
              "data-col": cell.col,
              "data-iou": cell.iou === null ? "" : String(cell.iou),
              title: `${cell.row} vs ${cell.col}: IoU ${cell.text}`,
            },
            cell.text,
          );
          td.style.background = cell.color;
          if (cell.iou !== null && cell.iou > 0.55) td.style.color = "#fff";
          return td;
        }),
      ),
    ),
  );
  const table = el(
    "table",
    { class: "pairs", "data-testid": "overlap-pairs" },
    el("tr", {}, ...PAIR_COLUMNS.map((c) => el("th", { scope: "col" }, c))),
    ...pairRows(group).map((row) =>
      el("tr", { "data-a": row.a, "data-b": row.b }, ...row.cells.map((c) => el("td", {}, c))),
    ),
  );
  block.append(el("div", { class: "overlap-tables" }, heatmap, table));
  if (!group.pairs.length) return;
  const box = chartBox("chart-overlap", weight);
  box.setAttribute("data-weight", weight);
  block.appendChild(box);
  drawnLineChart(
    box,
    {
      title: `${weight}: IoU over steps`,
      xLabel: "step",
      yLabel: "IoU",
      lines: group.pairs.map((p) => ({
        label: `${p.runs[0]} vs ${p.runs[1]}`,
        color: runColor(`${p.runs[0]}\u0000${p.runs[1]}`),
      })),
      table: alignSeries(group.pairs.map((p) => ({ x: p.steps, ys: [p.iou] }))),
      yRange: [0, 1],
      yFormat: formatNumber,
    },
    ctx.scope,
  );
}
