// The fleet member grid, tile for tile the same as the CLI's `enclave fleet watch`
// (cli/fleet_grid.cc): one character per session phase, ten members a row, rows labelled by the
// index of their first member. tests/http/ui checks the two against each other.

export const TILES: ReadonlyArray<readonly [phase: string, tile: string]> = [
  ["queued", "."],
  ["starting", "s"],
  ["running", "R"],
  ["succeeded", "o"],
  ["killed", "K"],
  ["failed", "F"],
];

const BY_PHASE = new Map(TILES);

/** The tile of a session phase ('?' for an unknown phase). */
export function tileFor(phase: string): string {
  return BY_PHASE.get(phase) ?? "?";
}

export const ROW = 10;

/** Members sorted by index, in rows of ROW: [first index of the row, members]. */
export function gridRows<M extends { index: number }>(members: readonly M[]): Array<[number, M[]]> {
  const sorted = [...members].sort((a, b) => a.index - b.index);
  const rows: Array<[number, M[]]> = [];
  for (let i = 0; i < sorted.length; i += ROW) rows.push([i, sorted.slice(i, i + ROW)]);
  return rows;
}

/** Whether a fleet phase is final (completed, partial, failed). */
export function fleetTerminal(phase: string): boolean {
  return phase === "completed" || phase === "partial" || phase === "failed";
}

/** "3/10 ended (30%)", as on the CLI's progress line: members in a final phase out of all. */
export function progressText(counts: { succeeded: number; failed: number; killed: number }, total: number): string {
  const ended = counts.succeeded + counts.failed + counts.killed;
  const pct = total === 0 ? 0 : Math.floor((ended * 100) / total);
  return `${ended}/${total} ended (${pct}%)`;
}
