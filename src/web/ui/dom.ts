/** Tiny DOM helpers: the page has a few tables and lists, no framework needed. */

/** The element with `id`. @throws Error when the page lacks it. */
export function byId<T extends HTMLElement>(id: string): T {
  const element = document.getElementById(id);
  if (element === null) throw new Error(`page has no #${id}`);
  return element as T;
}

/** A new element with text or child nodes. */
export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  className: string | null,
  ...children: (Node | string)[]
): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  if (className !== null) element.className = className;
  element.append(...children);
  return element;
}

/** Replaces a table's rows: a header row, then one row per entry. */
export function fillTable(
  table: HTMLTableElement,
  header: readonly string[],
  rows: readonly (readonly (Node | string | number)[])[],
): HTMLTableRowElement[] {
  const head = el('tr', null, ...header.map((h) => el('th', null, h)));
  const body = rows.map((cells) =>
    el('tr', null, ...cells.map((c) => el('td', null, typeof c === 'number' ? String(c) : c))),
  );
  table.replaceChildren(head, ...body);
  return body;
}
