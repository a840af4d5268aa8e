// TensorBoard's dark mode, followed. TensorBoard (2.21) marks its page's <body> with the
// class "dark-mode" (its default from `prefers-color-scheme: dark`, then the user's toggle
// in its settings). The plugin's iframe is same-origin, so it reads that class from the
// parent's body and watches it; where the parent cannot be read (the plugin page opened
// alone), the media query decides.

const DARK_CLASS = "dark-mode";

/** The parent page's body when it is TensorBoard's and readable, else null. */
function parentBody(): HTMLElement | null {
  try {
    if (window.parent === window) return null;
    return window.parent.document.body;
  } catch {
    return null; // another origin
  }
}

/** Whether the plugin should draw dark now. */
export function isDark(): boolean {
  const body = parentBody();
  if (body) return body.classList.contains(DARK_CLASS);
  return window.matchMedia?.("(prefers-color-scheme: dark)").matches ?? false;
}

/** Sets the theme on the iframe's document (`html.dark-mode`, data-theme) and returns it. */
export function applyTheme(): "dark" | "light" {
  const theme = isDark() ? "dark" : "light";
  document.documentElement.classList.toggle(DARK_CLASS, theme === "dark");
  document.documentElement.setAttribute("data-theme", theme);
  return theme;
}

/**
 * Applies the theme and calls `onChange` whenever it changes (TensorBoard's toggle, or the
 * system's scheme); returns the cleanup.
 */
export function watchTheme(onChange: () => void): () => void {
  let current = applyTheme();
  const check = () => {
    const next = applyTheme();
    if (next !== current) {
      current = next;
      onChange();
    }
  };
  const body = parentBody();
  const observer = body ? new MutationObserver(check) : null;
  observer?.observe(body!, { attributes: true, attributeFilter: ["class"] });
  const media = window.matchMedia?.("(prefers-color-scheme: dark)");
  media?.addEventListener("change", check);
  return () => {
    observer?.disconnect();
    media?.removeEventListener("change", check);
  };
}

/** The colours charts draw their frame in, from the stylesheet's variables. */
export function chartColors(): { axis: string; grid: string; background: string; foreground: string } {
  const style = getComputedStyle(document.documentElement);
  const v = (name: string, fallback: string) => style.getPropertyValue(name).trim() || fallback;
  return {
    axis: v("--chart-axis", "#555"),
    grid: v("--chart-grid", "#eee"),
    background: v("--bg", "#fff"),
    foreground: v("--fg", "#212121"),
  };
}
