import fs from 'node:fs';
import path from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const SRC = path.resolve(import.meta.dirname, '../../src');

/** The package root (src/index.ts and the wiring beside it): it may use every part but the command line. */
const ROOT = '(root)';

/**
 * What each part may import, from DESIGN.md's table ("talks to") and its text:
 * every part imports protocol; evolution imports nothing but protocol; the
 * experiment agents call evolution's rules; workloads reach the outside world
 * only, never the agents; cli wires everything.
 */
const ALLOWED: Record<string, readonly string[]> = {
  protocol: [],
  bus: ['protocol'],
  store: ['protocol'],
  registry: ['protocol', 'store', 'bus'],
  agents: ['protocol', 'bus', 'store', 'registry', 'evolution'],
  evolution: ['protocol'],
  workloads: ['protocol'],
  // The API serves what the agents know from the store (a study's recommendation, read as `best` reads it).
  api: ['protocol', 'bus', 'store', 'registry', 'agents', 'evolution'],
  web: ['protocol', 'api'],
  cli: ['protocol', 'bus', 'store', 'registry', 'agents', 'evolution', 'workloads', 'api', 'web', ROOT],
  [ROOT]: ['protocol', 'bus', 'store', 'registry', 'agents', 'evolution', 'workloads', 'api', 'web'],
};

/**
 * Violations known when this check was written, each with why it stays for
 * now: "file -> imported file". A new violation fails the test; a fixed one
 * must be removed from here (the test says so).
 */
const KNOWN: Readonly<Record<string, string>> = {};

function sourceFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(full);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts') ? [full] : [];
  });
}

const partOf = (file: string): string => {
  const [first, ...rest] = path.relative(SRC, file).split(path.sep);
  return rest.length === 0 ? ROOT : first!;
};

/** The part's (or the root's) index, the only file another part may import. */
const indexOf = (part: string): string => (part === ROOT ? path.join(SRC, 'index.ts') : path.join(SRC, part, 'index.ts'));

interface Violation {
  edge: string;
  reason: string;
}

function violations(): Violation[] {
  const found: Violation[] = [];
  for (const file of sourceFiles(SRC)) {
    const from = partOf(file);
    const { importedFiles } = ts.preProcessFile(fs.readFileSync(file, 'utf8'), true, true);
    for (const { fileName: specifier } of importedFiles) {
      if (!specifier.startsWith('.')) continue;
      const target = path.resolve(path.dirname(file), specifier).replace(/\.js$/, '.ts');
      const to = partOf(target);
      if (to === from) continue;
      const edge = `${path.relative(SRC, file)} -> ${path.relative(SRC, target)}`;
      if (!(ALLOWED[from] ?? []).includes(to)) found.push({ edge, reason: `${from} may not import ${to}` });
      else if (target !== indexOf(to)) found.push({ edge, reason: `bypasses ${path.relative(SRC, indexOf(to))}` });
    }
  }
  return found;
}

describe('architecture: imports between parts', () => {
  const found = violations();

  it('imports another part only through its index.ts, and only in the direction DESIGN.md gives', () => {
    const fresh = found.filter((v) => !(v.edge in KNOWN)).map((v) => `${v.edge} (${v.reason})`);
    expect(fresh).toEqual([]);
  });

  it('lists no known violation that has since been fixed', () => {
    const still = new Set(found.map((v) => v.edge));
    expect(Object.keys(KNOWN).filter((edge) => !still.has(edge))).toEqual([]);
  });

  it('sees the imports of every part', () => {
    // A check that read nothing would pass: make sure it reads the parts it guards.
    const parts = new Set(sourceFiles(SRC).map(partOf));
    for (const part of ['protocol', 'bus', 'store', 'registry', 'agents', 'evolution', 'workloads', 'cli', ROOT]) expect(parts).toContain(part);
  });
});
