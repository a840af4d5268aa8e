// Name filters as TensorBoard's own run and tag filters behave: a
// case-insensitive regular expression; while the user is still typing an
// invalid one, it falls back to a plain substring match and says so.

/** A compiled name filter. */
export interface NameFilter {
  test(name: string): boolean;
  /** Why the text is not a valid regular expression (then substring matching is used). */
  error: string | null;
}

/** Compiles the filter text; empty text matches everything. */
export function compileFilter(text: string): NameFilter {
  if (!text) return { test: () => true, error: null };
  try {
    const re = new RegExp(text, "i");
    return { test: (name) => re.test(name), error: null };
  } catch (e) {
    const needle = text.toLowerCase();
    return {
      test: (name) => name.toLowerCase().includes(needle),
      error: e instanceof Error ? e.message : String(e),
    };
  }
}

/** The names that match the filter text, in their order. */
export function filterNames(names: readonly string[], text: string): string[] {
  const filter = compileFilter(text);
  return names.filter((n) => filter.test(n));
}
