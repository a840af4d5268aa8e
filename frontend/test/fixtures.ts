// Loads the per-route fixtures (shaped as tb_prune_plugin/http_api.md documents)
// typed as the wire types, so a contract change that breaks them fails typecheck.
import histograms from "./fixtures/histograms.json";
import mask from "./fixtures/mask.json";
import maskSteps from "./fixtures/mask_steps.json";
import metrics from "./fixtures/metrics.json";
import modelSeries from "./fixtures/model_series.json";
import modelSeriesMulti from "./fixtures/model_series_multi.json";
import overview from "./fixtures/overview.json";
import runs from "./fixtures/runs.json";
import weightSeries from "./fixtures/weight_series.json";
import weightSeriesMulti from "./fixtures/weight_series_multi.json";
import type {
  HistogramsResponse,
  MaskResponse,
  MaskStepsResponse,
  MetricsResponse,
  ModelSeriesMultiResponse,
  ModelSeriesResponse,
  OverviewResponse,
  RunsResponse,
  WeightSeriesMultiResponse,
  WeightSeriesResponse,
} from "../src/types";

export const RUNS = runs as RunsResponse;
export const OVERVIEW = overview as OverviewResponse;
export const WEIGHT_SERIES = weightSeries as WeightSeriesResponse;
export const MODEL_SERIES = modelSeries as ModelSeriesResponse;
export const WEIGHT_SERIES_MULTI = weightSeriesMulti as WeightSeriesMultiResponse;
export const MODEL_SERIES_MULTI = modelSeriesMulti as ModelSeriesMultiResponse;
export const METRICS = metrics as MetricsResponse;
export const HISTOGRAMS = histograms as HistogramsResponse;
export const MASK_STEPS = maskSteps as MaskStepsResponse;
export const MASK = mask as MaskResponse;
