// The hover readout of a chart over steps: one compact line with the hovered step's
// values of every drawn run, instead of a legend that grows with the number of runs.

/** What the readout needs of a drawn series. */
export interface ReadoutLine {
  /** The run (or other group) the series belongs to; its values are shown together. */
  group: string;
  color: string;
  /** How the value is named after the group's first value, e.g. "target"; "" for the first. */
  role: string;
  /** A marker series (e.g. mask changed): named when it has a value at the step, no number. */
  pointsOnly?: boolean;
}

export interface ReadoutItem {
  group: string;
  color: string;
  text: string;
}

/**
 * The items for the step at index `idx` of an aligned table (`ys` in the order of `lines`):
 * per group, in first-seen order, "<group> <first series' role and value>" followed by the
 * other values in parentheses ("poly 45.0% (target 50.0%, mask changed)"). A group with no
 * value at the step is left out; a first series without a value shows "\u2014".
 */
export function readoutItems(
  lines: readonly ReadoutLine[],
  ys: readonly (readonly (number | null)[])[],
  idx: number,
  format: (v: number) => string,
): ReadoutItem[] {
  const groups = new Map<string, { color: string; main: string | null; extras: string[]; any: boolean }>();
  lines.forEach((line, i) => {
    const v = ys[i]?.[idx] ?? null;
    let g = groups.get(line.group);
    if (!g) {
      g = { color: line.color, main: null, extras: [], any: false };
      groups.set(line.group, g);
    }
    const named = (text: string) => (line.role ? `${line.role} ${text}` : text);
    if (!line.pointsOnly && g.main === null) g.main = named(v === null ? "\u2014" : format(v));
    else if (v !== null) g.extras.push(line.pointsOnly ? line.role : named(format(v)));
    if (v !== null) g.any = true;
  });
  const items: ReadoutItem[] = [];
  for (const [group, g] of groups) {
    if (!g.any) continue;
    const extras = g.extras.length ? ` (${g.extras.join(", ")})` : "";
    items.push({ group, color: g.color, text: `${group} ${g.main ?? "\u2014"}${extras}` });
  }
  return items;
}
