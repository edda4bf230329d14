// A tiny element builder: text is always set as text (never parsed as HTML), so nothing the API
// returns — output, names, hosts — can inject markup.

type Attrs = Record<string, string | number | boolean | undefined | ((e: Event) => void)>;
type Child = Node | string | number | null | undefined | false;

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Attrs = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === false) continue;
    if (typeof v === "function") el.addEventListener(k.replace(/^on/, ""), v);
    else if (k === "class") el.className = String(v);
    else el.setAttribute(k, v === true ? "" : String(v));
  }
  append(el, ...children);
  return el;
}

export function append(el: Node, ...children: Child[]): void {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    el.appendChild(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

/** Replaces the children of `el`. */
export function replace(el: Node, ...children: Child[]): void {
  while (el.firstChild) el.removeChild(el.firstChild);
  append(el, ...children);
}

/** "3a9f…c21e" — ids stay readable in tables; the full id is in the title. */
export function shortId(id: string): string {
  return id.length > 12 ? id.slice(0, 8) + "…" + id.slice(-4) : id;
}

export function phaseBadge(phase: string): HTMLElement {
  return h("span", { class: "badge p-" + phase, "data-testid": "phase" }, phase);
}

export function when(iso?: string): string {
  if (!iso) return "—";
  const d = new Date(iso);
  return isNaN(d.getTime()) ? iso : d.toISOString().replace("T", " ").replace(/\.\d+Z$/, "Z");
}

/** A duration given in ms, always shown in seconds (one unit, so figures side by side compare). */
export function ms(v: number): string {
  return (v / 1000).toFixed(v < 10_000 ? 3 : 1) + " s";
}

export function bytes(v: number): string {
  if (v >= 1 << 30) return (v / (1 << 30)).toFixed(1) + " GiB";
  if (v >= 1 << 20) return (v / (1 << 20)).toFixed(1) + " MiB";
  if (v >= 1 << 10) return (v / (1 << 10)).toFixed(1) + " KiB";
  return v + " B";
}
