// The key to a view's line styles, shown once above its charts: what solid, dashed and
// circles mean. Colours are the runs' (the sidebar's swatches), so no chart repeats a
// legend entry per run.

import { el } from "./dom";

export type LineStyle = "solid" | "dashed" | "circle";

/** "Lines: <sample> actual sparsity <sample> target ..." with data-style per entry for tests. */
export function lineKey(entries: readonly (readonly [LineStyle, string])[], hover = true): HTMLElement {
  return el(
    "div",
    { class: "line-key", "data-testid": "line-key" },
    ...entries.map(([style, label]) =>
      el(
        "span",
        { class: "line-key-item", "data-style": style },
        el("span", { class: `line-sample ${style}`, "aria-hidden": "true" }),
        label,
      ),
    ),
    el("span", { class: "hint" }, "Colours are the runs' colours in the sidebar." + (hover ? " Hover a chart for the values at a step." : "")),
  );
}
