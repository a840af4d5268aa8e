// Entry point TensorBoard loads in the plugin's iframe: it imports this ES
// module and calls render() with no arguments.
import "./styles.css";

/** Builds the plugin's UI into the iframe's document. */
export function render(): void {
  document.body.textContent = "Pruning plugin: loading...";
}
