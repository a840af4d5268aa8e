// Masks: one weight's mask at a recorded step, drawn as a heatmap (kept vs
// pruned; reduced grids as density), with a step scrubber and playback, the
// diff against the previous recorded mask, zoom to a region at full
// resolution, per-output-unit sparsity bars beside the rows, and the mask
// compared with another run's mask of the same weight at the same step (kept
// in both, only in this run, only in the other).
//
// The canvas is drawn at an integer scale (one cell = k x k pixels) in four
// exact colours for exact masks, and says what it shows in data attributes,
// so a browser test can compare its pixels with the recorded mask.

import { Generation, RequestWindow, isAbort } from "../api";
import { formatCount, formatPercent } from "../transforms/format";
import { MASK_COLORS, cellSize, decodeBase64, maskCellColors, scaleImage, unitBars } from "../transforms/mask_grid";
import { COMPARE_COLORS, compareCellColors, compareCellText } from "../transforms/overlap";
import {
  clampRegion,
  columnIndices,
  dragToRegion,
  fullRegion,
  isFullRegion,
  layoutSize,
  maxCellsFor,
  zoomRegion,
} from "../transforms/region";
import type { MaskResponse, MaskStepsResponse, Region } from "../types";
import { el, replaceChildren, select } from "../ui/dom";
import { indexInForce, nearestStepIndex } from "../transforms/steps";
import { errorState, loadingState, noticeState } from "../ui/states";
import { withFocus, type Focus } from "./focus";
import type { ViewContext } from "./view";

const BAR_WIDTH = 90;
const MAX_CANVAS_HEIGHT = 560;
const PLAY_DELAY_MS = 600;
/** Masks fetched ahead of the shown one, in the direction the user is stepping. */
const FETCH_AHEAD = 2;
/** Answers kept for stepping back and forth (each about 35 KB for a 128x64 mask with diff). */
const KEPT_MASKS = 16;
const SAVE_STATE_DELAY_MS = 300;

const rgb = (c: readonly number[]) => `rgb(${c.join(",")})`;

export function masksView(root: HTMLElement, ctx: ViewContext): void {
  withFocus(root, ctx, (focus) => show(root, ctx, focus));
}

/** A /mask request made before /mask_steps answered, and what it asked. */
interface EarlyMask {
  query: MaskQuery;
  mask: Promise<MaskResponse>;
}

type MaskQuery = Parameters<ViewContext["api"]["mask"]>[0];

/**
 * The first mask's request, sent with /mask_steps rather than after it: /mask answers the
 * mask in force at any step, so the shown step (the link's, else the run's last) needs no
 * listing. Its grid size assumes the full budget (what the mask's shape gives unless the
 * mask is very elongated); the player uses the answer when its own query turns out the same,
 * and the server has read and decoded the mask meanwhile either way. None with a region or a
 * compared run from the link (their queries depend on the listing), and for a run whose
 * masks TensorBoard's Rust data server cannot read (a name with a quote, a backslash or a
 * control character: /mask_steps says so, and a failed request would only add an error).
 */
function earlyMask(ctx: ViewContext, focus: Focus): EarlyMask | null {
  const s = ctx.state;
  const step = s.step ?? focus.run.last_step;
  if (step === null || s.region !== null || s.compare !== null) return null;
  if (/["\\\u0000-\u001f]/.test(focus.run.run)) return null;
  const query: MaskQuery = {
    run: focus.run.run,
    weight: focus.weight,
    step,
    diff: s.diff,
    region: null,
    maxCells: maxCellsFor(1, 1),
    compareRun: null,
  };
  const mask = ctx.api.mask(query);
  mask.catch(() => undefined); // a failure is the player's own request's to report
  return { query, mask };
}

function show(root: HTMLElement, ctx: ViewContext, focus: Focus): void {
  root.appendChild(focus.controls);
  const body = el("div", { class: "masks" }, loadingState("the recorded mask steps"));
  root.appendChild(body);
  const early = earlyMask(ctx, focus);
  ctx.api.maskSteps(focus.run.run, focus.weight).then(
    (steps) => {
      if (!ctx.ticket.isCurrent()) return;
      body.replaceChildren();
      if (!steps.steps.length) {
        body.appendChild(
          steps.unreadable
            ? noticeState(
                `${steps.unreadable} recorded masks of ${focus.weight} in ${focus.run.run} could not be read.`,
                "TensorBoard's output names the reason for each. Its fast data server cannot read masks of runs whose name holds a quote or a backslash; --load_fast=false can.",
              )
            : noticeState(
                `No mask of ${focus.weight} was recorded in ${focus.run.run}.`,
                "Masks are recorded when training starts and whenever they change; press Refresh once training has begun.",
              ),
        );
        return;
      }
      new MaskPlayer(body, ctx, steps, early);
    },
    (e) => {
      if (ctx.ticket.isCurrent() && !isAbort(e)) replaceChildren(body, errorState(e, "the recorded mask steps"));
    },
  );
}

/** The scrubber, the canvas and everything that redraws when the step, diff or zoom changes. */
class MaskPlayer {
  private index: number;
  private diff: boolean;
  /** The run compared with (null: none): its mask of the weight in force at the same step. */
  private compare: string | null;
  /** The compare grids of the drawn mask (kept in both, only here, only in the other run). */
  private shownCompare: [Uint8Array, Uint8Array, Uint8Array] | null = null;
  private region: Region | null;
  private playing = false;
  private playTimer = 0;
  private shown: MaskResponse | null = null;
  private shownKept: Uint8Array | null = null;
  private shownNewly: Uint8Array | null = null;
  private shownRegrown: Uint8Array | null = null;
  private k = 1;
  /** +1 after stepping forward, -1 after stepping back: the masks fetched ahead are that way. */
  private direction = 1;
  private saveTimer = 0;
  /** The drawn canvas's pixels, reused while the size stays. */
  private image: ImageData | null = null;
  private readonly requests = new Generation();
  /** The drawn mask, the ones fetched ahead of it, and a few seen recently. */
  private readonly masks = new RequestWindow<MaskResponse>(KEPT_MASKS);

  private readonly slider: HTMLInputElement;
  private readonly stepLabel: HTMLElement;
  private readonly playButton: HTMLButtonElement;
  private readonly regionLabel: HTMLElement;
  private readonly canvas: HTMLCanvasElement;
  /** Guides drawn over the mask (conv input-channel groups); separate so the mask's pixels stay exact. */
  private readonly guides: HTMLCanvasElement;
  private readonly selection: HTMLElement;
  private readonly bars: HTMLCanvasElement;
  private readonly info: HTMLElement;
  private readonly legend: HTMLElement;
  private readonly hover: HTMLElement;
  private readonly status: HTMLElement;
  private readonly area: HTMLElement;

  constructor(
    body: HTMLElement,
    private readonly ctx: ViewContext,
    private readonly steps: MaskStepsResponse,
    private early: EarlyMask | null = null,
  ) {
    const s = ctx.state;
    const n = steps.steps.length;
    // The mask in force at the requested step is the last one recorded at or before it.
    this.index = s.step === null ? n - 1 : indexInForce(steps.steps, s.step);
    this.diff = s.diff;
    this.region = s.region;

    // The slider runs over steps, so recorded masks sit at their steps (gaps show); a value
    // between them snaps to the nearest recorded one. Arrow keys go to the previous or next.
    const first = steps.steps[0]!;
    const last = steps.steps[n - 1]!;
    const ticks = el("datalist", { id: "mask-step-ticks" }, ...steps.steps.slice(0, 500).map((st) => el("option", { value: st })));
    this.slider = el("input", {
      type: "range",
      id: "mask-step-slider",
      "data-testid": "mask-step-slider",
      min: first,
      max: n < 2 ? first + 1 : last,
      step: 1,
      list: "mask-step-ticks",
      "aria-label": "Recorded mask step",
    });
    this.slider.value = String(steps.steps[this.index]);
    this.slider.disabled = n < 2;
    this.slider.addEventListener("input", () => {
      this.pause();
      const index = nearestStepIndex(this.steps.steps, Number(this.slider.value));
      if (index === this.index) this.slider.value = String(this.steps.steps[index]);
      else this.go(index);
    });
    this.slider.addEventListener("change", () => (this.slider.value = String(this.steps.steps[this.index])));
    const onKey = (e: KeyboardEvent) => {
      if (e.key !== "ArrowLeft" && e.key !== "ArrowRight") return;
      if (e.altKey || e.ctrlKey || e.metaKey || e.shiftKey) return;
      const t = e.target as HTMLElement | null;
      // Keys typed into a field, a select or the tab bar (its own arrow keys) are theirs.
      if (t && t !== this.slider && (t.closest("input, select, textarea, [contenteditable], [role=tablist]") !== null)) return;
      e.preventDefault();
      this.pause();
      this.go(this.index + (e.key === "ArrowRight" ? 1 : -1));
    };
    document.addEventListener("keydown", onKey);
    ctx.scope.add(() => document.removeEventListener("keydown", onKey));
    this.stepLabel = el("span", { class: "step-label", "data-testid": "mask-step-label" });
    const prev = el("button", { type: "button", "data-testid": "mask-prev", title: "Previous recorded mask" }, "\u25c0");
    prev.addEventListener("click", () => {
      this.pause();
      this.go(this.index - 1);
    });
    const next = el("button", { type: "button", "data-testid": "mask-next", title: "Next recorded mask" }, "\u25b6");
    next.addEventListener("click", () => {
      this.pause();
      this.go(this.index + 1);
    });
    this.playButton = el("button", { type: "button", "data-testid": "mask-play" }, "Play");
    this.playButton.disabled = n < 2;
    this.playButton.addEventListener("click", () => (this.playing ? this.pause() : this.play()));

    const diffBox = el("input", { type: "checkbox", id: "mask-diff", "data-testid": "mask-diff" });
    diffBox.checked = this.diff;
    diffBox.addEventListener("change", () => {
      this.diff = diffBox.checked;
      this.saveState();
      this.load();
    });

    // Another run with this weight: shown against this one at the same step.
    const others = ctx.runs.filter((r) => r.run !== steps.run && r.weights.includes(steps.weight));
    // A run from a link that does not have this weight (or is this run) is not compared with.
    this.compare = others.some((r) => r.run === s.compare) ? s.compare : null;
    const compareSelect = select(
      { id: "mask-compare", "data-testid": "mask-compare" },
      [["", "no other run"], ...others.map((r) => [r.run, r.run] as const)],
      this.compare ?? "",
    );
    compareSelect.disabled = !others.length;
    diffBox.disabled = this.compare !== null;
    compareSelect.addEventListener("change", () => {
      this.compare = compareSelect.value || null;
      diffBox.disabled = this.compare !== null;
      this.saveState();
      this.load();
    });

    const zoomIn = el("button", { type: "button", "data-testid": "mask-zoom-in" }, "Zoom in");
    zoomIn.addEventListener("click", () => this.zoom(0.5));
    const zoomOut = el("button", { type: "button", "data-testid": "mask-zoom-out" }, "Zoom out");
    zoomOut.addEventListener("click", () => this.zoom(2));
    const whole = el("button", { type: "button", "data-testid": "mask-zoom-reset" }, "Whole mask");
    whole.addEventListener("click", () => this.setRegion(null));
    this.regionLabel = el("span", { class: "region-label", "data-testid": "mask-region-label" });

    this.canvas = el("canvas", { id: "mask-canvas", "data-testid": "mask-canvas", class: "mask-canvas" });
    this.guides = el("canvas", { class: "mask-guides", "aria-hidden": "true" });
    this.selection = el("div", { class: "drag-selection", hidden: true });
    this.bars = el("canvas", {
      id: "unit-sparsity-bars",
      "data-testid": "unit-sparsity-bars",
      class: "unit-bars",
      title: "Sparsity of each output unit (row)",
    });
    this.hover = el("div", { class: "hover-readout", "data-testid": "mask-hover", "aria-live": "off" }, "\u00a0");
    this.info = el("div", { class: "mask-info", "data-testid": "mask-info" });
    this.legend = el("div", { class: "legend", "data-testid": "mask-legend" });
    this.status = el("div", { class: "mask-status" });
    this.area = el(
      "div",
      { class: "mask-area" },
      el("div", { class: "mask-canvas-wrap" }, this.canvas, this.guides, this.selection),
      el("div", { class: "bars-wrap" }, el("div", { class: "bars-title" }, "unit sparsity"), this.bars),
    );

    body.append(
      el(
        "div",
        { class: "controls" },
        prev,
        this.slider,
        ticks,
        next,
        this.playButton,
        this.stepLabel,
        el("label", { class: "check" }, diffBox, " changes since the previous recorded mask"),
        el("label", { for: "mask-compare" }, "compare with "),
        compareSelect,
      ),
      el("div", { class: "controls" }, zoomIn, zoomOut, whole, this.regionLabel, el("span", { class: "hint" }, "or drag on the mask to zoom; \u2190 \u2192 step through the masks")),
      this.info,
      this.legend,
      this.status,
      this.area,
      this.hover,
    );

    this.wireCanvas();
    ctx.scope.add(() => {
      if (this.saveTimer) this.saveState();
      this.pause();
      this.requests.cancel();
      this.masks.clear();
    });
    this.load();
  }

  private go(index: number): void {
    const n = this.steps.steps.length;
    if (index < 0 || index >= n || index === this.index) return;
    this.direction = index > this.index ? 1 : -1;
    this.index = index;
    this.slider.value = String(this.steps.steps[index]);
    this.saveStateSoon();
    this.load();
  }

  private play(): void {
    if (this.index >= this.steps.steps.length - 1) this.go(0);
    this.playing = true;
    this.playButton.textContent = "Pause";
    if (this.shown && this.shown.step === this.steps.steps[this.index]) this.scheduleNext();
  }

  private pause(): void {
    this.playing = false;
    window.clearTimeout(this.playTimer);
    this.playButton.textContent = "Play";
  }

  /** Playback advances only after a step is drawn, so it never skips masks on a slow server. */
  private scheduleNext(): void {
    window.clearTimeout(this.playTimer);
    if (!this.playing) return;
    if (this.index >= this.steps.steps.length - 1) {
      this.pause();
      return;
    }
    this.playTimer = window.setTimeout(() => {
      if (this.playing) this.go(this.index + 1);
    }, PLAY_DELAY_MS);
  }

  private zoom(factor: number): void {
    if (!this.shown) return;
    const current = this.region ?? fullRegion(this.shown.layout);
    this.setRegion(zoomRegion(current, factor, this.shown.layout));
  }

  private setRegion(region: Region | null): void {
    const layout = this.shown?.layout;
    this.region = region && layout && isFullRegion(region, layout) ? null : region;
    this.saveState();
    this.load();
  }

  private saveState(): void {
    window.clearTimeout(this.saveTimer);
    this.saveTimer = 0;
    this.ctx.replaceState({
      step: this.steps.steps[this.index]!,
      diff: this.diff,
      compare: this.compare,
      region: this.region,
    });
  }

  /**
   * The step goes into the URL once scrubbing pauses: writing the URL (history.replaceState)
   * took 3 ms of each step. Written at once when the view is left.
   */
  private saveStateSoon(): void {
    window.clearTimeout(this.saveTimer);
    this.saveTimer = window.setTimeout(() => this.saveState(), SAVE_STATE_DELAY_MS);
  }

  /** What the Masks view asks /mask for at step index `index`, with the current diff and zoom. */
  private query(index: number) {
    const step = this.steps.steps[index]!;
    const shape = this.steps.shapes[index] ?? [];
    const size = layoutSize(shape);
    const layout = { rows: size.rows, cols: size.cols, row_axis: null, col_axes: [] };
    // A region restored from a link may not fit this step's shape: clamp it rather than fail.
    const region = this.region ? clampRegion(this.region, layout) : null;
    const target = region ?? fullRegion(layout);
    return {
      run: this.steps.run,
      weight: this.steps.weight,
      step,
      diff: this.compare === null && this.diff,
      region: region && !isFullRegion(region, layout) ? region : null,
      maxCells: maxCellsFor(target.rows, target.cols),
      compareRun: this.compare,
    };
  }

  /** The mask at step index `index`: kept, or requested now. */
  private fetch(index: number): { key: string; mask: Promise<MaskResponse> } {
    const q = this.query(index);
    const key = JSON.stringify(q);
    return { key, mask: this.masks.get(key, (signal) => this.earlyOr(q, signal)) };
  }

  /**
   * The early request's answer (`earlyMask`) when it asked what `q` asks but the step, and
   * the mask in force there is the one recorded at `q.step`; else `q` asked now. Used once.
   */
  private earlyOr(q: MaskQuery, signal: AbortSignal): Promise<MaskResponse> {
    const early = this.early;
    this.early = null;
    const ask = () => this.ctx.api.mask(q, signal);
    if (!early || JSON.stringify({ ...early.query, step: q.step }) !== JSON.stringify(q)) return ask();
    return early.mask.then(
      (m) => (m.step === q.step ? { ...m, requested_step: q.step } : ask()),
      () => ask(),
    );
  }

  /** Step indices to fetch ahead of `index`: the next ones in the stepping direction, else the other way. */
  private ahead(index: number): number[] {
    const n = this.steps.steps.length;
    const inRange = (d: number) =>
      Array.from({ length: FETCH_AHEAD }, (_, i) => index + d * (i + 1)).filter((i) => i >= 0 && i < n);
    const forward = inRange(this.direction);
    return forward.length ? forward : inRange(-this.direction);
  }

  private load(): void {
    const index = this.index;
    const step = this.steps.steps[index]!;
    this.stepLabel.textContent = `step ${formatCount(step)} (${index + 1} of ${this.steps.steps.length})`;
    const ticket = this.requests.next();
    const ahead = this.ahead(index);
    // Requests for steps the user has moved away from are aborted; kept answers stay.
    this.masks.keep([JSON.stringify(this.query(index)), ...ahead.map((i) => JSON.stringify(this.query(i)))]);
    const { key, mask } = this.fetch(index);
    if (!this.masks.has(key)) {
      this.status.replaceChildren(loadingState(`the mask at step ${step}`));
      this.canvas.setAttribute("data-state", "loading");
    }
    mask.then(
      (m) => {
        if (!ticket.isCurrent() || !this.ctx.ticket.isCurrent()) return;
        this.status.replaceChildren();
        this.draw(m);
        this.scheduleNext();
      },
      (e) => {
        if (!ticket.isCurrent() || !this.ctx.ticket.isCurrent() || isAbort(e)) return;
        this.pause();
        this.canvas.setAttribute("data-state", "error");
        this.status.replaceChildren(errorState(e, `the mask at step ${step}`));
      },
    );
    for (const i of ahead) this.fetch(i).mask.catch(() => undefined);
  }

  private draw(m: MaskResponse): void {
    const { rows, cols } = m.grid;
    const kept = decodeBase64(m.kept);
    if (kept.length !== rows * cols) {
      this.status.replaceChildren(
        errorState(new Error(`the mask grid has ${kept.length} cells, expected ${rows} x ${cols}`), "the mask"),
      );
      return;
    }
    const compare: [Uint8Array, Uint8Array, Uint8Array] | null =
      m.compare_run && m.both && m.only_a && m.only_b
        ? [decodeBase64(m.both), decodeBase64(m.only_a), decodeBase64(m.only_b)]
        : null;
    const withDiff = !m.compare_run && this.diff && !m.shape_changed && !!m.newly_pruned && !!m.regrown;
    const newly = withDiff ? decodeBase64(m.newly_pruned!) : null;
    const regrown = withDiff ? decodeBase64(m.regrown!) : null;
    const available = Math.max(200, this.area.clientWidth - BAR_WIDTH - 32);
    const k = cellSize(rows, cols, available, MAX_CANVAS_HEIGHT);
    const width = cols * k;
    const height = rows * k;
    if (!this.image || this.image.width !== width || this.image.height !== height) {
      this.image = new ImageData(width, height);
    }
    const colors = compare ? compareCellColors(...compare) : maskCellColors(kept, newly, regrown);
    scaleImage(colors, rows, cols, k, this.image.data);

    // Resizing a canvas reallocates and clears it: only when the size changes.
    if (this.canvas.width !== width) this.canvas.width = width;
    if (this.canvas.height !== height) this.canvas.height = height;
    this.canvas.getContext("2d")!.putImageData(this.image, 0, 0);
    this.shown = m;
    this.shownKept = kept;
    this.shownNewly = newly;
    this.shownRegrown = regrown;
    this.shownCompare = compare;
    this.k = k;
    const attrs: Record<string, string> = {
      "data-run": m.run,
      "data-weight": m.weight,
      "data-step": String(m.step),
      "data-requested-step": String(m.requested_step),
      "data-rows": String(rows),
      "data-cols": String(cols),
      "data-cell-size": String(k),
      "data-cell-rows": String(m.grid.cell_rows),
      "data-cell-cols": String(m.grid.cell_cols),
      "data-exact": String(m.exact),
      "data-diff": String(withDiff),
      "data-region": `${m.region.row0},${m.region.col0},${m.region.rows},${m.region.cols}`,
      "data-kept-rgb": MASK_COLORS.kept.join(","),
      "data-pruned-rgb": MASK_COLORS.pruned.join(","),
      "data-newly-pruned-rgb": MASK_COLORS.newlyPruned.join(","),
      "data-regrown-rgb": MASK_COLORS.regrown.join(","),
      "data-compare-run": m.compare_run ?? "",
      "data-compare-step": m.compare_step === null || m.compare_step === undefined ? "" : String(m.compare_step),
      "data-compared": String(compare !== null),
      "data-both-rgb": COMPARE_COLORS.both.join(","),
      "data-only-a-rgb": COMPARE_COLORS.onlyA.join(","),
      "data-only-b-rgb": COMPARE_COLORS.onlyB.join(","),
      "data-state": "ready",
      role: "img",
      "aria-label": `Mask of ${m.weight} in ${m.run} at step ${m.step}: ${m.kept_total} of ${m.size} weights kept`,
    };
    for (const [key, value] of Object.entries(attrs)) this.canvas.setAttribute(key, value);

    this.drawGuides(m, k, width, height);
    this.drawBars(unitBars(m.unit_sparsity, m.grid.cell_rows, rows), k, height);
    this.describe(m, withDiff, compare !== null);
  }

  /**
   * For kernels with spatial axes, a faint line between input channels (each
   * channel's kh x kw block of columns), where cells are large enough to see it.
   */
  private drawGuides(m: MaskResponse, k: number, width: number, height: number): void {
    this.guides.width = width;
    this.guides.height = height;
    const g = this.guides.getContext("2d")!;
    g.clearRect(0, 0, width, height);
    const group = m.shape.length >= 3 ? m.shape.slice(0, -2).reduce((a, b) => a * b, 1) : 0;
    if (group < 2 || m.grid.cell_cols !== 1 || k < 3) return;
    g.fillStyle = "rgba(0, 0, 0, 0.35)";
    for (let c = 1; c < m.grid.cols; c++) {
      if ((m.region.col0 + c) % group === 0) g.fillRect(c * k, 0, 1, height);
    }
  }

  private drawBars(bars: (number | null)[], k: number, height: number): void {
    this.bars.width = BAR_WIDTH;
    this.bars.height = height;
    this.bars.setAttribute("data-rows", String(bars.length));
    const g = this.bars.getContext("2d")!;
    g.fillStyle = "#f4f4f4";
    g.fillRect(0, 0, BAR_WIDTH, height);
    g.fillStyle = "#7a7a7a";
    bars.forEach((v, r) => {
      if (v !== null) g.fillRect(0, r * k, Math.round(v * BAR_WIDTH), Math.max(1, k - (k > 3 ? 1 : 0)));
    });
  }

  private describe(m: MaskResponse, withDiff: boolean, compared: boolean): void {
    const L = m.layout;
    const colAxes = L.col_axes.length ? L.col_axes.join(" \u00d7 ") : "entry";
    const sparsity = m.size ? 1 - m.kept_total / m.size : null;
    const lines: (string | null)[] = [
      `Mask in force at step ${formatCount(m.requested_step)}: recorded at step ${formatCount(m.step)}. ` +
        `Shape ${m.shape.join("\u00d7") || "scalar"}: ${formatCount(m.kept_total)} of ${formatCount(m.size)} weights kept ` +
        `(${formatPercent(sparsity)} sparsity).`,
      `Rows: ${L.row_axis ?? "one row"} (${formatCount(L.rows)}); columns: ${colAxes} (${formatCount(L.cols)}).`,
      m.exact
        ? "Each cell is one weight." +
          (m.shape.length >= 3 && L.col_axes.length > 1
            ? ` Faint lines separate input channels (${L.col_axes.slice(1).join(" \u00d7 ")} columns each) when cells are large enough.`
            : "")
        : `Each cell covers ${m.grid.cell_rows}\u00d7${m.grid.cell_cols} weights; its shade is the fraction kept. Zoom in to see single weights.`,
      this.diff && !m.compare_run
        ? m.shape_changed
          ? `The shape changed since step ${formatCount(m.previous_step ?? null)}: no changes to show.`
          : m.previous_step === null || m.previous_step === undefined
            ? "This is the first recorded mask: nothing to compare with."
            : `Changes since the mask recorded at step ${formatCount(m.previous_step)}.`
        : null,
      m.compare_run ? this.compareText(m) : null,
    ];
    replaceChildren(this.info, ...lines.filter((l): l is string => l !== null).map((l) => el("p", {}, l)));

    const item = (color: readonly number[], label: string, key: string) => {
      const sw = el("span", { class: "swatch" });
      sw.style.background = rgb(color);
      return el("span", { class: "legend-item", "data-legend": key }, sw, label);
    };
    if (compared) {
      replaceChildren(
        this.legend,
        item(COMPARE_COLORS.both, "kept in both", "both"),
        item(COMPARE_COLORS.onlyA, `kept only in ${m.run}`, "only-a"),
        item(COMPARE_COLORS.onlyB, `kept only in ${m.compare_run}`, "only-b"),
        item(COMPARE_COLORS.neither, "pruned in both", "neither"),
      );
    } else replaceChildren(
      this.legend,
      item(MASK_COLORS.kept, m.exact ? "kept" : "all kept", "kept"),
      item(MASK_COLORS.pruned, m.exact ? "pruned" : "all pruned", "pruned"),
      withDiff ? item(MASK_COLORS.newlyPruned, "newly pruned", "newly-pruned") : null,
      withDiff ? item(MASK_COLORS.regrown, "regrown", "regrown") : null,
    );

    const r = m.region;
    this.regionLabel.textContent = isFullRegion(r, L)
      ? "whole mask"
      : `rows ${formatCount(r.row0)}\u2013${formatCount(r.row0 + r.rows - 1)} of ${formatCount(L.rows)}, ` +
        `columns ${formatCount(r.col0)}\u2013${formatCount(r.col0 + r.cols - 1)} of ${formatCount(L.cols)}`;
  }

  /** The comparison with another run, in words. */
  private compareText(m: MaskResponse): string {
    const other = m.compare_run!;
    if (m.compare_step === null || m.compare_step === undefined) {
      return `${other} has no mask of ${m.weight} at or before step ${formatCount(m.requested_step)}: nothing to compare with.`;
    }
    if (m.shape_differs) return `${other}'s mask (step ${formatCount(m.compare_step)}) has another shape: nothing to compare.`;
    const iou = m.iou === null || m.iou === undefined ? "\u2014" : formatPercent(m.iou);
    return (
      `Against ${other}'s mask in force at this step (recorded at step ${formatCount(m.compare_step)}): ` +
      `${formatCount(m.intersection ?? null)} weights kept in both, ${formatCount(m.union ?? null)} in either: IoU ${iou}.`
    );
  }

  private cellAt(x: number, y: number): { r: number; c: number } | null {
    const m = this.shown;
    if (!m) return null;
    const r = Math.floor(y / this.k);
    const c = Math.floor(x / this.k);
    if (r < 0 || c < 0 || r >= m.grid.rows || c >= m.grid.cols) return null;
    return { r, c };
  }

  private describeCell(r: number, c: number): string {
    const m = this.shown!;
    const i = r * m.grid.cols + c;
    const row0 = m.region.row0 + r * m.grid.cell_rows;
    const col0 = m.region.col0 + c * m.grid.cell_cols;
    const keptFraction = this.shownKept![i]! / 255;
    if (m.exact) {
      const parts = columnIndices(m.shape, col0);
      const where = m.layout.col_axes.length
        ? m.layout.col_axes.map((a, j) => `${a} ${parts[j] ?? "?"}`).join(", ")
        : `column ${col0}`;
      let what = keptFraction > 0 ? "kept" : "pruned";
      if (this.shownCompare) {
        const [b, a, o] = this.shownCompare;
        what = compareCellText(b[i]!, a[i]!, o[i]!, m.run, m.compare_run ?? "");
      }
      if (this.shownNewly?.[i]) what = "newly pruned";
      if (this.shownRegrown?.[i]) what = "regrown";
      return `${m.layout.row_axis ?? "row"} ${row0}, ${where}: ${what}`;
    }
    const rowEnd = Math.min(row0 + m.grid.cell_rows, m.region.row0 + m.region.rows) - 1;
    const colEnd = Math.min(col0 + m.grid.cell_cols, m.region.col0 + m.region.cols) - 1;
    let text = `rows ${row0}\u2013${rowEnd}, columns ${col0}\u2013${colEnd}: ${formatPercent(keptFraction, 0)} kept`;
    if (this.shownNewly) text += `, ${formatPercent(this.shownNewly[i]! / 255, 0)} newly pruned`;
    if (this.shownRegrown) text += `, ${formatPercent(this.shownRegrown[i]! / 255, 0)} regrown`;
    if (this.shownCompare) text += `, ${formatPercent(this.shownCompare[0][i]! / 255, 0)} kept in both`;
    return text;
  }

  /** Hover readout and drag-to-zoom. The selection is a separate element, so the canvas pixels stay exact. */
  private wireCanvas(): void {
    let start: { x: number; y: number } | null = null;
    const pos = (e: PointerEvent) => {
      const rect = this.canvas.getBoundingClientRect();
      return { x: e.clientX - rect.left, y: e.clientY - rect.top };
    };
    this.canvas.addEventListener("pointerdown", (e) => {
      if (!this.shown || e.button !== 0) return;
      start = pos(e);
      this.canvas.setPointerCapture(e.pointerId);
    });
    this.canvas.addEventListener("pointermove", (e) => {
      const p = pos(e);
      if (start) {
        const s = this.selection.style;
        s.left = `${Math.min(start.x, p.x)}px`;
        s.top = `${Math.min(start.y, p.y)}px`;
        s.width = `${Math.abs(p.x - start.x)}px`;
        s.height = `${Math.abs(p.y - start.y)}px`;
        this.selection.hidden = false;
        return;
      }
      const cell = this.cellAt(p.x, p.y);
      this.hover.textContent = cell ? this.describeCell(cell.r, cell.c) : "\u00a0";
    });
    const finish = (e: PointerEvent, apply: boolean) => {
      if (!start) return;
      const p = pos(e);
      const from = start;
      start = null;
      this.selection.hidden = true;
      const m = this.shown;
      // A click (or a tiny jitter) is not a zoom.
      if (!apply || !m || (Math.abs(p.x - from.x) < 4 && Math.abs(p.y - from.y) < 4)) return;
      this.setRegion(dragToRegion(from.x, from.y, p.x, p.y, this.k, m.grid, m.region, m.layout));
    };
    this.canvas.addEventListener("pointerup", (e) => finish(e, true));
    this.canvas.addEventListener("pointercancel", (e) => finish(e, false));
    this.canvas.addEventListener("pointerleave", () => {
      if (!start) this.hover.textContent = "\u00a0";
    });
  }
}
