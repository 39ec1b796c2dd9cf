/** A small element builder, and numbers and times formatted for people. */

type Child = Node | string | number | null | undefined | false;
type Attrs = Record<string, string | number | boolean | ((e: Event) => void) | undefined>;

export function h(tag: string, attrs: Attrs = {}, ...children: Child[]): HTMLElement {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === false) continue;
    if (typeof value === 'function') el.addEventListener(key.replace(/^on/, ''), value);
    else if (value === true) el.setAttribute(key, '');
    else el.setAttribute(key, String(value));
  }
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : String(child));
  }
  return el;
}

const number = new Intl.NumberFormat(undefined, { maximumSignificantDigits: 4 });
const integer = new Intl.NumberFormat();
const percent = new Intl.NumberFormat(undefined, { style: 'percent', maximumFractionDigits: 0 });

export const fmt = {
  num: (n: number | null | undefined) => (n === null || n === undefined ? '–' : number.format(n)),
  int: (n: number | null | undefined) => (n === null || n === undefined ? '–' : integer.format(n)),
  pct: (n: number | null | undefined) => (n === null || n === undefined ? '–' : percent.format(n)),
  /** "12 s ago", "3 min ago", else the local date and time. */
  ago(at: number | string | null | undefined): string {
    if (at === null || at === undefined) return '–';
    // Times arrive as milliseconds or, in task JSON, as ISO strings.
    const ms = typeof at === 'string' ? Date.parse(at) : at;
    if (Number.isNaN(ms)) return '–';
    const s = Math.round((Date.now() - ms) / 1000);
    if (s < 0) return new Date(ms).toLocaleString();
    if (s < 60) return `${s} s ago`;
    if (s < 3600) return `${Math.round(s / 60)} min ago`;
    return new Date(ms).toLocaleString();
  },
  vars: (v: Record<string, unknown>) =>
    Object.entries(v)
      .map(([k, x]) => `${k}=${typeof x === 'number' ? number.format(x) : String(x)}`)
      .join(', '),
};

/** A table with a caption, column headers and rows; an empty list says so. */
export function table(caption: string, headers: string[], rows: Child[][], empty = 'none yet'): HTMLElement {
  if (rows.length === 0) return h('p', { class: 'empty' }, `${caption}: ${empty}`);
  return h(
    'table',
    {},
    h('caption', {}, caption),
    h('thead', {}, h('tr', {}, ...headers.map((t) => h('th', { scope: 'col' }, t)))),
    h('tbody', {}, ...rows.map((cells) => h('tr', {}, ...cells.map((c) => h('td', {}, c))))),
  );
}
