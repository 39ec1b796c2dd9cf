/**
 * Renders the README's table of error codes from ERROR_CODES, the one table
 * they are declared in, so the documentation cannot drift from the code.
 *
 *   npm run docs:errors      rewrites the table between the markers in README.md
 */
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { ERROR_CODES } from '../src/protocol/index.js';

export const START = '<!-- error-codes:start -->';
export const END = '<!-- error-codes:end -->';
export const README = path.resolve(import.meta.dirname, '../README.md');

export function renderErrorTable(codes: Readonly<Record<string, string>> = ERROR_CODES): string {
  const rows = Object.entries(codes).map(([code, meaning]) => `| \`${code}\` | ${meaning.replaceAll('|', '\\|')} |`);
  return ['| code | meaning |', '|---|---|', ...rows].join('\n');
}

/** The table as the README holds it now, or undefined when the markers are missing. */
export function readmeErrorTable(text: string): string | undefined {
  const start = text.indexOf(START);
  const end = text.indexOf(END);
  if (start < 0 || end < start) return undefined;
  return text.slice(start + START.length, end).trim();
}

export function withErrorTable(text: string): string {
  const start = text.indexOf(START);
  const end = text.indexOf(END);
  if (start < 0 || end < start) throw new Error(`README.md has no ${START} … ${END} markers`);
  return `${text.slice(0, start + START.length)}\n${renderErrorTable()}\n${text.slice(end)}`;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  fs.writeFileSync(README, withErrorTable(fs.readFileSync(README, 'utf8')));
  console.log(`README.md: ${Object.keys(ERROR_CODES).length} error codes`);
}
