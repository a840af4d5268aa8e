// Route URLs. Relative to the iframe's base (the plugin's route prefix), so
// "./runs" reaches /data/plugin/pruning/runs wherever TensorBoard is mounted.

/** A query parameter value; arrays become repeated parameters, undefined/null are left out. */
export type ParamValue = string | number | boolean | null | undefined | readonly string[];

/**
 * The `run` parameter of a route that takes any number of runs (/overview): none when every
 * listed run is shown, which the route reads as "all runs". Thousands of run names would
 * otherwise make a URL longer than TensorBoard's server accepts (64 KiB: 414).
 */
export function runsParam(shown: readonly string[], listed: number): readonly string[] {
  return shown.length === listed ? [] : shown;
}

/**
 * Returns "./<route>?<query>" with parameters in the given order; `true` is sent as 1,
 * `false` is left out (the routes treat a missing flag as off).
 */
export function routeUrl(route: string, params: Record<string, ParamValue> = {}): string {
  const query = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value === undefined || value === null || value === false) continue;
    if (value === true) query.append(key, "1");
    else if (Array.isArray(value)) for (const v of value) query.append(key, v);
    else query.append(key, String(value));
  }
  const text = query.toString();
  return "./" + route + (text ? "?" + text : "");
}
