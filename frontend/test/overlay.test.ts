import { describe, expect, it } from "vitest";
import { BYTE_FIGURES, STRUCTURE_FIGURES, hasValues, overlay, previewOverlay } from "../src/transforms/overlay";
import { configColumns } from "../src/transforms/run_config";
import { maskTarget, scheduleTarget } from "../src/transforms/schedule";
import type { RunConfig, RunSeriesEntry, WeightStatsField } from "../src/types";
import poly from "./fixtures/config.json";
import { MODEL_SERIES_MULTI } from "./fixtures";

const color = (run: string) => `c-${run}`;
const NAN_FIELDS = { nm_compliance: [null, null], block_sparsity: [null, null] };

function weightEntry(run: string, steps: number[], fields: RunSeriesEntry<WeightStatsField>["fields"]): RunSeriesEntry<WeightStatsField> {
  return { run, total_steps: steps.length, steps, fields };
}

describe("overlay", () => {
  it("test_structure_lines_only_for_figures_a_run_recorded", () => {
    const chart = overlay(
      [
        { run: "poly", series: weightEntry("poly", [0, 10], { pruned_units_fraction: [0, 0.25], pruned_inputs_fraction: [0, 0.5], ...NAN_FIELDS }) },
        {
          run: "nm",
          series: weightEntry("nm", [0, 5], { pruned_units_fraction: [0, 0], pruned_inputs_fraction: [0, 0], nm_compliance: [0, 1], block_sparsity: [null, null] }),
        },
        { run: "missing", series: null },
      ],
      STRUCTURE_FIGURES,
      color,
    );
    expect(chart.lines.map((l) => [l.label, l.color, l.dash ?? null])).toEqual([
      ["poly units pruned", "c-poly", null],
      ["poly inputs pruned", "c-poly", [6, 4]],
      ["nm units pruned", "c-nm", null],
      ["nm inputs pruned", "c-nm", [6, 4]],
      ["nm N:M compliance", "c-nm", [2, 3]],
    ]);
    expect(chart.table).toEqual({
      x: [0, 5, 10],
      ys: [
        [0, null, 0.25],
        [0, null, 0.5],
        [0, 0, null],
        [0, 0, null],
        [0, 1, null],
      ],
    });
  });
  it("test_a_run_per_entry_of_the_route_fixture", () => {
    const loaded = MODEL_SERIES_MULTI.series.map((series) => ({ run: series.run, series }));
    const chart = overlay(loaded, [{ field: "global_sparsity", label: "actual" }], color);
    expect(chart).toEqual({
      lines: [{ label: "tfmot_poly actual", color: "c-tfmot_poly", dash: undefined, width: undefined }],
      table: { x: [0, 10, 20], ys: [[0, 0.3, 0.5]] },
    });
    expect(BYTE_FIGURES.map((f) => f.field)).toEqual(["sparse_bytes", "dense_bytes"]);
  });
  it("test_empty_label_is_the_run_and_nan_only_series_are_left_out", () => {
    expect(hasValues([null, Number.NaN])).toBe(false);
    expect(hasValues([null, 0])).toBe(true);
    const chart = overlay(
      [
        { run: "a", series: weightEntry("a", [1], { l2: [2] }) },
        { run: "b", series: weightEntry("b", [1], { l2: [null] }) },
      ],
      [{ field: "l2", label: "" }],
      color,
    );
    expect(chart).toEqual({ lines: [{ label: "a", color: "c-a", dash: undefined, width: undefined }], table: { x: [1], ys: [[2]] } });
  });
});

describe("previewOverlay", () => {
  const POLY = poly as RunConfig;
  it("test_planned_to_the_furthest_end_then_actual_per_run", () => {
    const nm: RunConfig = { weights: [{ path: "w", method: "tfmot", sparsity_m_by_n: [2, 4], schedule: null }] };
    const columns = configColumns([
      { run: "poly", config: POLY },
      { run: "nm", config: nm },
      { run: "manual", config: null },
    ]);
    const chart = previewOverlay(columns, [40, 20, 200], [{ run: "poly", series: { run: "poly", total_steps: 2, steps: [0, 40], fields: { global_sparsity: [0, 0.6] } } }], color);
    expect(chart.planned).toBe(2);
    expect(chart.lines.map((l) => [l.label, l.dash ?? null])).toEqual([
      ["poly planned", [6, 4]],
      ["nm planned", [6, 4]],
      ["poly actual", null],
    ]);
    // Drawn to step 200 (the furthest last step), the poly schedule past its end (92) flat.
    const x = chart.table.x;
    expect(x[x.length - 1]).toBe(200);
    const planned = chart.table.ys[0]!;
    x.forEach((step, i) => {
      if (planned[i] !== null) expect(planned[i]).toBe(maskTarget(columns[0]!.preview!, step));
    });
    // end_step 92 is not a pruning step (10 + k * 10): TF-MOT's last update is at 90, short of 0.9.
    expect(planned[x.indexOf(200)]).toBe(scheduleTarget(columns[0]!.preview!, 90));
    expect(planned[x.indexOf(200)]).toBeLessThan(Math.fround(0.9));
    expect(chart.table.ys[1]![x.indexOf(1)]).toBe(0.5);
    expect(chart.table.ys[2]![x.indexOf(40)]).toBe(0.6);
  });
  it("test_a_run_with_two_schedules_names_their_weights", () => {
    const config: RunConfig = {
      weights: [
        { path: "a/kernel", method: "tfmot", schedule: { class: "ConstantSparsity", config: { target_sparsity: 0.5, begin_step: 0, frequency: 10 } } },
        { path: "b/kernel", method: "tfmot", schedule: { class: "ConstantSparsity", config: { target_sparsity: 0.7, begin_step: 0, frequency: 10 } } },
      ],
    };
    const chart = previewOverlay(configColumns([{ run: "r", config }]), [30], [], color);
    expect(chart.lines.map((l) => l.label)).toEqual(["r planned (a/kernel)", "r planned (b/kernel)"]);
    expect(chart.table.x).toEqual([0, 9, 10, 19, 20, 29, 30]);
    expect(chart.table.ys[1]).toEqual([0, 0, 0.7, 0.7, 0.7, 0.7, 0.7].map(Math.fround));
  });
});
