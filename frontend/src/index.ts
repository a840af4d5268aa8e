// Entry point TensorBoard loads in the plugin's iframe: it imports this ES
// module and calls render() with no arguments.
import "./styles.css";
import { App } from "./app";

let started = false;

/**
 * Builds the plugin's UI into the iframe's document. The stylesheet is a
 * same-origin <link> next to this module (the iframe's CSP allows styles from
 * 'self'), located from import.meta.url so it works under any path prefix.
 */
export function render(): void {
  if (started) return;
  started = true;
  const link = document.createElement("link");
  link.rel = "stylesheet";
  link.href = new URL("./index.css", import.meta.url).href;
  document.head.appendChild(link);
  const root = document.createElement("div");
  root.className = "pruning-plugin";
  root.id = "pruning-plugin";
  document.body.appendChild(root);
  new App(root).start();
}
