// Route URLs. Relative to the iframe's base (the plugin's route prefix), so
// "./runs" reaches /data/plugin/pruning/runs wherever TensorBoard is mounted.

/** A query parameter value; arrays become repeated parameters, undefined/null are left out. */
export type ParamValue = string | number | boolean | null | undefined | readonly string[];

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
