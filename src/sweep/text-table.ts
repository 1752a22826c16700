/** A cell: its text, and optionally a colour applied after padding (so escapes do not skew widths). */
export type Cell = string | { text: string; paint: (s: string) => string };

/** Columns padded to their widest cell, two spaces apart; numbers read best right-aligned. */
export function formatTable(header: string[], rows: Cell[][], rightAligned: Set<number> = new Set()): string[] {
  const text = (c: Cell) => (typeof c === 'string' ? c : c.text);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => text(r[i]).length)));
  const line = (cells: Cell[]) =>
    cells
      .map((c, i) => {
        const padded = rightAligned.has(i) ? text(c).padStart(widths[i]) : text(c).padEnd(widths[i]);
        return typeof c === 'string' ? padded : c.paint(padded);
      })
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)];
}
