// Overview: the last recorded state of every pruned weight of the shown runs,
// sortable, with a CSV download, each run's model-wide figures with its alerts as
// badges, and the list of alerts, each a link to the view and step that show it.

import { isAbort, overviewCsvUrl } from "../api";
import { runColor } from "../ui/run_colors";
import { formatBytes, formatCount, formatNumber, formatPercent, formatShape } from "../transforms/format";
import { alertCounts, alertState, ALERT_LABELS } from "../transforms/alerts";
import { runsParam } from "../transforms/query";
import { encodeState } from "../transforms/url_state";
import { sortRows, type SortDirection } from "../transforms/sorting";
import type { Alert, OverviewResponse, OverviewRow, StrippedSize } from "../types";
import { el, replaceChildren, swatch } from "../ui/dom";
import { errorState, loadingState, noticeState } from "../ui/states";
import type { ViewContext } from "./view";

type Column = { key: keyof OverviewRow; title: string; numeric: boolean; render: (r: OverviewRow) => string };

const COLUMNS: Column[] = [
  { key: "run", title: "Run", numeric: false, render: (r) => r.run },
  { key: "weight", title: "Weight", numeric: false, render: (r) => r.weight },
  { key: "shape", title: "Shape", numeric: true, render: (r) => formatShape(r.shape) },
  { key: "size", title: "Parameters", numeric: true, render: (r) => formatCount(r.size) },
  { key: "nonzeros", title: "Non-zeros", numeric: true, render: (r) => formatCount(r.nonzeros) },
  { key: "sparsity", title: "Sparsity", numeric: true, render: (r) => formatPercent(r.sparsity) },
  { key: "target_sparsity", title: "Target", numeric: true, render: (r) => formatPercent(r.target_sparsity) },
  { key: "threshold", title: "Threshold", numeric: true, render: (r) => formatNumber(r.threshold) },
  { key: "step", title: "Last step", numeric: true, render: (r) => formatCount(r.step) },
];

// The sort order survives re-rendering (refresh, selection changes) for the session.
let sortKey: keyof OverviewRow = "run";
let sortDirection: SortDirection = "asc";

export function overviewView(root: HTMLElement, ctx: ViewContext): void {
  const runs = ctx.shownRuns.map((r) => r.run);
  if (!runs.length) {
    root.appendChild(noticeState("No run is selected.", "Tick one or more runs on the left."));
    return;
  }
  const body = el("div", { class: "overview" }, loadingState("the overview"));
  root.appendChild(body);
  ctx.api.overview(runsParam(runs, ctx.runs.length)).then(
    (data) => {
      if (ctx.ticket.isCurrent()) draw(body, data, ctx);
    },
    (e) => {
      if (ctx.ticket.isCurrent() && !isAbort(e)) replaceChildren(body, errorState(e, "the overview"));
    },
  );
}

function draw(body: HTMLElement, data: OverviewResponse, ctx: ViewContext): void {
  const runs = ctx.shownRuns.map((r) => r.run);
  // Without a run parameter the answer holds every run, also one that appeared since /runs.
  const shown = new Set(runs);
  const rows = data.rows.filter((r) => shown.has(r.run) && ctx.weightFilter.test(r.weight));
  const csv = el(
    "a",
    { class: "button", href: overviewCsvUrl(runsParam(runs, ctx.runs.length)), download: "pruning_overview.csv", "data-testid": "overview-csv" },
    "Download CSV",
  );

  // The alerts arrive apart (they read every weight's series): their places wait for them.
  const badgeCells = new Map<string, HTMLElement>();
  const badgeCell = (run: string): HTMLElement => {
    const td = el("td", { class: "alert-badges", "data-testid": "alert-badges", "data-run": run }, "\u2026");
    badgeCells.set(run, td);
    return td;
  };
  const alertsSection = el("div", { class: "alerts", "data-testid": "alerts" }, loadingState("the alerts"));
  const modelTable = el(
    "table",
    { class: "data", "data-testid": "overview-runs" },
    el(
      "thead",
      {},
      el(
        "tr",
        {},
        ...["Run", "Alerts", "Step", "Global sparsity", "Prunable non-zeros", "Model non-zeros", "Dense size", "Sparse size", "Stripped, gzipped"].map((t) =>
          el("th", { scope: "col" }, t),
        ),
      ),
    ),
    el(
      "tbody",
      {},
      ...data.runs.map((r) =>
        el(
          "tr",
          { "data-testid": "overview-run-row", "data-run": r.run },
          el("td", {}, swatch(runColor(r.run)), r.run),
          badgeCell(r.run),
          el("td", { class: "num" }, formatCount(r.step)),
          el("td", { class: "num", "data-testid": "global-sparsity" }, formatPercent(r.global_sparsity)),
          el("td", { class: "num" }, `${formatCount(r.prunable_nonzeros)} / ${formatCount(r.prunable_size)}`),
          el("td", { class: "num" }, `${formatCount(r.model_nonzeros)} / ${formatCount(r.model_size)}`),
          el("td", { class: "num" }, formatBytes(r.dense_bytes)),
          el("td", { class: "num" }, formatBytes(r.sparse_bytes)),
          strippedCell(r.stripped_size),
        ),
      ),
    ),
  );

  const tbody = el("tbody", {});
  // One listener for every row's "masks" button (a thousand rows are common).
  tbody.addEventListener("click", (e) => {
    const tr = (e.target as Element).closest("button[data-action=masks]")?.closest("tr");
    if (!tr) return;
    const run = tr.getAttribute("data-run")!;
    const weight = tr.getAttribute("data-weight")!;
    ctx.setState({ tab: "masks", focusRun: run, focusWeight: weight, step: null, region: null });
  });
  // Rows are clones of one template row filled with text (never markup): cloning is several
  // times faster than building every cell.
  const template = el(
    "tr",
    { "data-testid": "overview-row" },
    ...COLUMNS.map((c) => el("td", { class: c.numeric ? "num" : "", "data-col": c.key }, c.key === "run" ? swatch("") : null)),
    el("td", {}, el("button", { type: "button", class: "link", title: "Show this weight's masks", "data-action": "masks" }, "masks")),
  );
  const row = (r: OverviewRow): Element => {
    const tr = template.cloneNode(true) as Element;
    tr.setAttribute("data-run", r.run);
    tr.setAttribute("data-weight", r.weight);
    COLUMNS.forEach((c, i) => {
      const td = tr.children[i] as HTMLElement;
      if (c.key === "run") {
        (td.firstChild as HTMLElement).style.background = runColor(r.run);
        td.append(c.render(r));
      } else td.textContent = c.render(r);
    });
    return tr;
  };
  const headerCells = COLUMNS.map((c) => {
    const button = el("button", { type: "button", class: "sort", "data-sort-key": c.key }, c.title);
    const th = el("th", { scope: "col", class: c.numeric ? "num" : "" }, button);
    button.addEventListener("click", () => {
      if (sortKey === c.key) sortDirection = sortDirection === "asc" ? "desc" : "asc";
      else {
        sortKey = c.key;
        sortDirection = "asc";
      }
      fill();
    });
    return th;
  });
  const fill = () => {
    headerCells.forEach((th, i) => {
      const key = COLUMNS[i]!.key;
      th.setAttribute("aria-sort", key === sortKey ? (sortDirection === "asc" ? "ascending" : "descending") : "none");
    });
    const sorted = sortRows(rows, sortKey, sortDirection);
    tbody.replaceChildren(...sorted.map(row));
  };
  fill();

  const weightsSection =
    rows.length || !data.rows.length
      ? el(
          "table",
          { class: "data sortable", "data-testid": "overview-table" },
          el("thead", {}, el("tr", {}, ...headerCells, el("th", {}, ""))),
          tbody,
        )
      : noticeState(`No weight matches the weight filter (${data.rows.length} weights in the selected runs).`, "Change or clear the weight filter on the left.");

  replaceChildren(
    body,
    el("h2", {}, "Model-wide, at the last recorded step"),
    data.runs.length ? modelTable : noticeState("No model-wide figures were recorded for the selected runs."),
    el("h2", {}, "Alerts"),
    alertsSection,
    el("div", { class: "section-head" }, el("h2", {}, "Pruned weights, at their last recorded step"), csv),
    data.rows.length ? weightsSection : noticeState("The selected runs have no pruned weights recorded yet.", "Press Refresh once training has recorded its first step."),
  );
  ctx.api.alerts(runsParam(runs, ctx.runs.length)).then(
    (answer) => {
      if (!ctx.ticket.isCurrent()) return;
      const alerts = answer.alerts.filter((a) => shown.has(a.run));
      const counts = alertCounts(alerts);
      for (const [run, td] of badgeCells) replaceChildren(td, ...badges(counts.get(run) ?? []));
      replaceChildren(alertsSection, alertList(alerts, ctx));
    },
    (e) => {
      if (!ctx.ticket.isCurrent() || isAbort(e)) return;
      for (const td of badgeCells.values()) td.textContent = "?";
      replaceChildren(alertsSection, errorState(e, "the alerts"));
    },
  );
}

/** One badge per kind of alert a run has: "2 metric drop"; "none" without any. */
function badges(counts: [Alert["kind"], number][]): (HTMLElement | string)[] {
  if (!counts.length) return [el("span", { class: "muted", "data-testid": "no-alerts" }, "none")];
  return counts.map(([kind, n]) =>
    el("span", { class: `badge badge-${kind}`, "data-testid": "alert-badge", "data-kind": kind, "data-count": n, title: `${n} alert${n > 1 ? "s" : ""}: ${ALERT_LABELS[kind]}` }, `${n} ${ALERT_LABELS[kind]}`),
  );
}

/**
 * A button that shows `alert` in its view at its step (the URL state: alertState). Not an
 * `<a href="#...">`: the iframe's base URL is the plugin's route prefix, so a bare hash link
 * would leave the plugin's page.
 */
function alertLink(alert: Alert, ctx: ViewContext): HTMLElement {
  const hash = encodeState(alertState(alert, ctx.state));
  const button = el(
    "button",
    { type: "button", class: "link", "data-testid": "alert-link", "data-state": hash, title: `Show it in the ${alert.view} view at step ${alert.step}` },
    `${alert.run}, step ${formatCount(alert.step)}`,
  );
  button.addEventListener("click", () => ctx.setState(alertState(alert, ctx.state)));
  return button;
}

/** The alerts, each a link to the view (and step) that shows it, in the URL state. */
function alertList(alerts: readonly Alert[], ctx: ViewContext): HTMLElement {
  if (!alerts.length) return noticeState("No alerts for the selected runs.");
  return el(
    "ul",
    { class: "alert-list" },
    ...alerts.map((a) =>
      el(
        "li",
        { "data-testid": "alert", "data-run": a.run, "data-kind": a.kind, "data-step": a.step },
        swatch(runColor(a.run)),
        alertLink(a, ctx),
        el("span", { class: `badge badge-${a.kind}` }, ALERT_LABELS[a.kind]),
        el("span", { class: "alert-message" }, a.message),
      ),
    ),
  );
}

/**
 * The stripped size cell: the model as it ships, gzipped, and under it the saved file's size
 * (exact bytes and the step in their titles); a dash without a record.
 */
function strippedCell(size: StrippedSize | undefined): HTMLElement {
  const part = (field: "saved_bytes" | "gzip_bytes"): HTMLElement => {
    const value = size?.[field] ?? null;
    const title = size && value !== null ? `${formatCount(value)} bytes, measured at step ${formatCount(size.step)}` : "not recorded";
    return el("span", { "data-testid": `stripped-${field}`, title }, formatBytes(value));
  };
  if (!size) return el("td", { class: "num" }, part("gzip_bytes"));
  return el("td", { class: "num" }, part("gzip_bytes"), el("div", { class: "muted" }, part("saved_bytes"), " saved"));
}
