// A tiny element builder. Children given as strings become text nodes, and
// attributes are set with setAttribute, so names from the server (runs,
// weights, metrics) can never be parsed as HTML. Nothing here uses innerHTML.

export type Child = Node | string | number | null | undefined | false;
export type Attrs = Record<string, string | number | boolean | null | undefined>;

/** Creates `<tag>` with attributes (false/null/undefined are left out) and children. */
export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Attrs = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === false || value === null || value === undefined) continue;
    node.setAttribute(key, value === true ? "" : String(value));
  }
  append(node, ...children);
  return node;
}

/** Appends children; strings and numbers as text. */
export function append(parent: Node, ...children: Child[]): void {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    parent.appendChild(typeof c === "string" || typeof c === "number" ? document.createTextNode(String(c)) : c);
  }
}

/** Replaces all children of `parent`. */
export function replaceChildren(parent: Element, ...children: Child[]): void {
  parent.replaceChildren();
  append(parent, ...children);
}

/** A <select> whose options are [value, label] pairs, set as text. */
export function select(attrs: Attrs, options: readonly (readonly [string, string])[], value: string | null): HTMLSelectElement {
  const s = el("select", attrs);
  for (const [v, label] of options) {
    const o = el("option", { value: v }, label);
    if (v === value) o.selected = true;
    s.appendChild(o);
  }
  return s;
}

/** A small coloured square for a run. */
export function swatch(color: string): HTMLElement {
  const s = el("span", { class: "swatch", "aria-hidden": "true" });
  // A CSSOM property, not a style attribute string: still no markup involved.
  s.style.background = color;
  return s;
}
