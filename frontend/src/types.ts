// The wire types of the pruning plugin's routes, declared once.
// They mirror tb_prune_plugin/http_api.md; when that contract changes, this
// file changes with it and the compiler points at every use.
// NaN and infinite numbers arrive as null, hence `number | null` throughout.

/** Training metric names per scope, as `/runs` lists them. */
export interface MetricNames {
  epoch: string[];
  batch: string[];
}

/** One entry of `GET /runs`. */
export interface RunInfo {
  run: string;
  weights: string[];
  metrics: MetricNames;
  last_step: number | null;
  method: "tfmot" | "manual" | null;
}

/** `GET /runs`. */
export interface RunsResponse {
  runs: RunInfo[];
  /** Sentences about skipped data (series of a newer format version), shown above every view. */
  notices: string[];
}

/** One row of `GET /overview`: the last recorded state of one pruned weight. */
export interface OverviewRow {
  run: string;
  weight: string;
  /** null: the weight has no (readable) mask record. */
  shape: number[] | null;
  size: number;
  nonzeros: number;
  sparsity: number | null;
  target_sparsity: number | null;
  threshold: number | null;
  step: number;
}

/** The model-wide figures of one run in `GET /overview`. */
export interface OverviewRun {
  run: string;
  step: number;
  global_sparsity: number | null;
  prunable_size: number;
  prunable_nonzeros: number;
  model_size: number;
  model_nonzeros: number;
  dense_bytes: number;
  sparse_bytes: number;
  /** The run's last stripped_size record; absent when the run has none. */
  stripped_size?: StrippedSize;
}

/** The model as it ships (wrappers stripped, saved as HDF5, gzipped), in bytes, at `step`. */
export interface StrippedSize {
  step: number;
  saved_bytes: number | null;
  gzip_bytes: number | null;
}

/** The kinds of `GET /alerts` (tb_prune_plugin/reader/alerts.py defines each). */
export const ALERT_KINDS = ["weight_collapse", "unit_collapse", "behind_target", "regrowth", "nonfinite", "metric_drop"] as const;
export type AlertKind = (typeof ALERT_KINDS)[number];

/** One alert of `GET /alerts`: what calls for a look, and the view and step that show it. */
export interface Alert {
  run: string;
  kind: AlertKind;
  /** null for a metric drop. */
  weight: string | null;
  /** "epoch/<name>" for a metric drop, else null. */
  metric: string | null;
  step: number;
  /** A tab of url_state.ts. */
  view: string;
  count: number | null;
  total: number | null;
  value: number | null;
  reference: number | null;
  message: string;
}

/** `GET /alerts[?run=...]`, sorted by run and step. */
export interface AlertsResponse {
  alerts: Alert[];
}

/** `GET /overview`. */
export interface OverviewResponse {
  rows: OverviewRow[];
  runs: OverviewRun[];
}

/** The entries of a weight_stats record (tb_prune_plugin/metadata.py, format version 1). */
export const WEIGHT_STATS_FIELDS = [
  "size",
  "nonzeros",
  "sparsity",
  "target_sparsity",
  "should_prune",
  "threshold",
  "mean",
  "std",
  "min",
  "max",
  "l1",
  "l2",
  "kept_mean_abs",
  "pruned_units_fraction",
  "pruned_inputs_fraction",
  "nm_compliance",
  "block_sparsity",
  "newly_pruned",
  "regrown",
  "mask_changed",
  "nonfinite",
] as const;
export type WeightStatsField = (typeof WEIGHT_STATS_FIELDS)[number];

/** The entries of a model_stats record (tb_prune_plugin/metadata.py, format version 1). */
export const MODEL_STATS_FIELDS = [
  "global_sparsity",
  "prunable_size",
  "prunable_nonzeros",
  "model_size",
  "model_nonzeros",
  "dense_bytes",
  "sparse_bytes",
] as const;
export type ModelStatsField = (typeof MODEL_STATS_FIELDS)[number];

/** One array per field, aligned with `steps`. A field missing on the wire reads as absent. */
export type FieldArrays<F extends string> = Partial<Record<F, (number | null)[]>>;

/** `GET /weight_series?run=R&weight=W`. */
export interface WeightSeriesResponse {
  run: string;
  weight: string;
  /** Steps the series has (`steps` may be fewer: max_points); null when a long series is the
   * provider's sample (http_api.md, Long series). */
  total_steps?: number | null;
  steps: number[];
  fields: FieldArrays<WeightStatsField>;
}

/** `GET /model_series?run=R`. */
export interface ModelSeriesResponse {
  run: string;
  /** null when a long series is the provider's sample (http_api.md, Long series). */
  total_steps?: number | null;
  steps: number[];
  fields: FieldArrays<ModelStatsField>;
}

/** One run's series in the answer of a `*_series_multi` route: only the fields asked for. */
export interface RunSeriesEntry<F extends string> {
  run: string;
  /** Steps the series has; null when a long series is the provider's sample (http_api.md). */
  total_steps: number | null;
  steps: number[];
  fields: FieldArrays<F>;
  /** Weight series only: every step where the mask changed, also steps a sample left out. */
  mask_change_steps?: number[];
}

/** `GET /weight_series_multi?weight=W&run=R1&run=R2...[&fields=f1,f2][&max_points=N]`. */
export interface WeightSeriesMultiResponse {
  weight: string;
  /** In the order the runs were asked for, for the runs that have the weight. */
  series: RunSeriesEntry<WeightStatsField>[];
  /** Runs asked for that have no series of the weight. */
  missing: string[];
}

/** `GET /model_series_multi?run=R1&run=R2...[&fields=f1,f2][&max_points=N]`. */
export interface ModelSeriesMultiResponse {
  series: RunSeriesEntry<ModelStatsField>[];
  missing: string[];
}

/** One metric's recorded values. */
export interface MetricSeries {
  /** null when a long series is the provider's sample (http_api.md, Long series). */
  total_steps?: number | null;
  steps: number[];
  values: (number | null)[];
}

/** `GET /metrics?run=R`. */
export interface MetricsResponse {
  run: string;
  epoch: Record<string, MetricSeries>;
  batch: Record<string, MetricSeries>;
}

/** `GET /histograms?run=R&weight=W`. */
export interface HistogramsResponse {
  run: string;
  weight: string;
  /** null when a long series is the provider's sample (http_api.md, Long series). */
  total_steps?: number | null;
  steps: number[];
  lo: (number | null)[];
  hi: (number | null)[];
  counts: number[][];
  threshold: (number | null)[];
}

/** One run of `GET /mask_convergence`: each recorded mask's distance from the run's last one. */
export interface ConvergenceSeries {
  run: string;
  shape: number[];
  size: number;
  steps: number[];
  /** Entries that differ from the last mask; null for a mask of another shape. */
  differing: (number | null)[];
  /** differing / size. */
  fraction: (number | null)[];
  /** The first step from which fraction stays under `limit` to the end. */
  early_bird_step: number | null;
  unreadable: number;
}

/** `GET /mask_convergence?weight=W&run=R1&run=R2...`. */
export interface MaskConvergenceResponse {
  weight: string;
  limit: number;
  series: ConvergenceSeries[];
  missing: string[];
}

/** One pair of `GET /mask_overlap`: the IoU of the masks in force at each step of the union of their records. */
export interface OverlapPair {
  runs: [string, string];
  steps: number[];
  intersection: number[];
  union: number[];
  iou: (number | null)[];
}

/** Runs whose last mask of the weight has one shape, and the overlaps of their last masks (runs x runs). */
export interface OverlapGroup {
  shape: number[];
  size: number;
  runs: string[];
  last_steps: number[];
  kept: number[];
  intersection: number[][];
  union: number[][];
  iou: (number | null)[][];
  pairs: OverlapPair[];
}

/** `GET /mask_overlap?weight=W&run=R1&run=R2...`. */
export interface MaskOverlapResponse {
  weight: string;
  over_steps: string;
  groups: OverlapGroup[];
  missing: string[];
}

/** `GET /mask_steps?run=R&weight=W`. */
export interface MaskStepsResponse {
  run: string;
  weight: string;
  steps: number[];
  shapes: number[][];
  /** Mask records left out because they could not be read (TensorBoard's log says why). */
  unreadable: number;
}

/** The 2-D layout of a mask: rows are output units. */
export interface MaskLayout {
  rows: number;
  cols: number;
  /** "output unit"; null for rank-0 and rank-1 weights (one row). */
  row_axis: string | null;
  /** The axes a column index runs over, outermost first, e.g. ["input", "kernel_h", "kernel_w"]. */
  col_axes: string[];
  /** The sizes of col_axes; sent by the server though http_api.md does not list it yet. */
  col_shape?: number[];
}

/** A rectangle in layout coordinates. */
export interface Region {
  row0: number;
  col0: number;
  rows: number;
  cols: number;
}

/** The reduced grid a region is sent as: each cell covers cell_rows x cell_cols entries. */
export interface GridShape {
  rows: number;
  cols: number;
  cell_rows: number;
  cell_cols: number;
}

/** `GET /mask?run=R&weight=W&step=S[&diff=1][&row0=..][&max_cells=N]`. */
export interface MaskResponse {
  run: string;
  weight: string;
  requested_step: number;
  step: number;
  shape: number[];
  size: number;
  kept_total: number;
  layout: MaskLayout;
  region: Region;
  grid: GridShape;
  exact: boolean;
  /** Base64 bytes 0..255, row-major: the fraction of kept weights per cell. */
  kept: string;
  unit_sparsity: (number | null)[];
  /** Present with diff=1. */
  previous_step?: number | null;
  shape_changed?: boolean;
  newly_pruned?: string;
  regrown?: string;
  /** Present with compare_run=R2. */
  compare_run?: string;
  compare_step?: number | null;
  compare_kept_total?: number | null;
  shape_differs?: boolean;
  /** Grids like `kept`: kept in both runs, only in this run (A), only in compare_run (B). */
  both?: string;
  only_a?: string;
  only_b?: string;
  intersection?: number;
  union?: number;
  iou?: number | null;
}

/** The body of a 400 or 404 answer. */
export interface ErrorResponse {
  error: string;
}

/** A schedule in a `run_config` record: its class and its `get_config()` (TF-MOT's: `{class_name, config}`). */
export interface RunConfigSchedule {
  class: string;
  config: unknown;
}

/** One recorded weight in a `run_config` record (docs/format.md). */
export interface RunConfigWeight {
  path: string;
  layer?: string;
  shape?: number[];
  size?: number;
  method?: string;
  block_size?: number[] | null;
  block_pooling_type?: string | null;
  /** [zeros, group size], TF-MOT's order. */
  sparsity_m_by_n?: number[] | null;
  schedule?: RunConfigSchedule | null;
}

/** `GET /config?run=R`: the run's latest `run_config` record as written (docs/format.md). */
export interface RunConfig {
  format_version?: number;
  tb_prune_plugin_version?: string;
  tensorflow_version?: string;
  keras?: string;
  model_name?: string;
  method?: string | null;
  /** null: the default policy (every mask change, the rest within `overhead_budget`). */
  every_n_steps?: number | null;
  overhead_budget?: number | null;
  /** Records between mask changes carry the |w| histograms once every this many steps. */
  histogram_every_n_steps?: number;
  start_step?: number;
  weights?: RunConfigWeight[];
  optimizer?: { class: string; config?: Record<string, unknown> | null } | null;
  parameters?: { model_size?: number; prunable_size?: number };
  model_summary?: string;
}

/** One weight's curve in `GET /sensitivity`. */
export interface SensitivityWeight {
  weight: string;
  shape: number[];
  size: number;
  structure: "magnitude" | "filters";
  mode: "evaluate" | "data_free";
  sparsities: (number | null)[];
  pruned_fractions: (number | null)[];
  /** Metric name (as Keras names it; data-free: "mean_abs_removed") -> one value per level. */
  metrics: Record<string, (number | null)[]>;
}

/** `GET /sensitivity`: the scans of the runs holding one. */
export interface SensitivityResponse {
  scans: { run: string; weights: SensitivityWeight[] }[];
}
