// What a benchmark run produces: rows in the shape every module shares, printed as a markdown table
// and written to bench/results/<module>.json so that runs can be compared by script.
//
// The JSON shape (extra fields on a row are allowed; `kind` says whose code the row measures):
//   { "module", "date", "node", "redis", "inFlight",
//     "rows": [ { "scenario", "subject", "kind": "redkit"|"peer"|"limit", "opsPerSec", "p50us", "p99us", ... } ] }
//
// The "vs limit" column divides a row's ops/s by the ops/s of the limit row of the same scenario (the
// raw reference: plain lru-cache, plain ioredis, plain EVALSHA), so 0.50× means half the raw speed.
import { mkdir, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

export type Kind = 'redkit' | 'peer' | 'limit';

export interface ResultRow {
  scenario: string;
  subject: string;
  kind: Kind;
  opsPerSec: number;
  p50us: number;
  p99us: number;
  /** Scenario-specific extras: loaderCalls, redisCmdsPerOp, inFlight when not the default, ... */
  [extra: string]: unknown;
}

export interface ModuleResults {
  module: string;
  date: string;
  node: string;
  redis: string;
  inFlight: number;
  rows: ResultRow[];
}

/** An extra table column, filled from a row field when present. */
export interface ExtraColumn {
  key: string;
  title: string;
}

const RESULTS_DIR = new URL('../results/', import.meta.url);

/** Writes bench/results/<module>.json and returns its path. */
export async function writeResults(results: ModuleResults): Promise<string> {
  await mkdir(RESULTS_DIR, { recursive: true });
  const file = new URL(`${results.module}.json`, RESULTS_DIR);
  await writeFile(file, `${JSON.stringify(results, null, 2)}\n`);
  return fileURLToPath(file);
}

/**
 * The markdown table: one line per row in the given order, with "vs limit" and the extra columns.
 * Rows are expected grouped by scenario (runSuite sorts them).
 */
export function markdownTable(rows: readonly ResultRow[], extraColumns: readonly ExtraColumn[] = []): string {
  const header = ['scenario', 'subject', 'kind', 'ops/s', 'p50 µs', 'p99 µs', 'vs limit'];
  header.push(...extraColumns.map((column) => column.title));
  const lines = rows.map((row) => {
    // A limit measured on two clients (atTheirBest) divides by its faster row.
    const limit = rows
      .filter((other) => other.scenario === row.scenario && other.kind === 'limit')
      .reduce<ResultRow | undefined>(
        (fastest, other) => (fastest === undefined || other.opsPerSec > fastest.opsPerSec ? other : fastest),
        undefined,
      );
    const vsLimit = limit && limit !== row ? `${(row.opsPerSec / limit.opsPerSec).toFixed(2)}×` : '';
    return [
      row.scenario,
      row.subject,
      row.kind,
      formatInteger(row.opsPerSec),
      formatMicros(row.p50us),
      formatMicros(row.p99us),
      vsLimit,
      ...extraColumns.map((column) => formatCell(row[column.key])),
    ];
  });
  const numeric = new Set([
    3,
    4,
    5,
    6,
    ...extraColumns.map((_, index) => header.length - extraColumns.length + index),
  ]);
  const widths = header.map((title, index) =>
    Math.max(title.length, ...lines.map((line) => line[index]!.length)),
  );
  const render = (cells: string[]) =>
    `| ${cells.map((cell, index) => (numeric.has(index) ? cell.padStart(widths[index]!) : cell.padEnd(widths[index]!))).join(' | ')} |`;
  const rule = `|${widths.map((width, index) => (numeric.has(index) ? `${'-'.repeat(width + 1)}:` : '-'.repeat(width + 2))).join('|')}|`;
  return [render(header), rule, ...lines.map(render)].join('\n');
}

function formatInteger(value: number): string {
  return Math.round(value).toLocaleString('en-US');
}

function formatMicros(value: number): string {
  return value >= 100 ? formatInteger(value) : value.toFixed(1);
}

function formatCell(value: unknown): string {
  if (value === undefined || value === null) return '';
  if (typeof value === 'number') return Number.isInteger(value) ? formatInteger(value) : String(value);
  return String(value);
}
