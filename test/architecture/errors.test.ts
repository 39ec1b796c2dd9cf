import fs from 'node:fs';
import path from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES, NonRetryableError, OrchestraError } from '../../src/protocol/index.js';

const SRC = path.resolve(import.meta.dirname, '../../src');
/** Built-in error classes: constructing one in src/ means a plain error can reach a user with no code. */
const PLAIN = new Set(['Error', 'TypeError', 'RangeError', 'SyntaxError', 'ReferenceError', 'EvalError', 'URIError', 'AggregateError']);

function sourceFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(full);
    return entry.name.endsWith('.ts') ? [full] : [];
  });
}

/** Every `new Error(…)`, `Error(…)` and `class X extends Error` in one file's text, as "file:line: what". */
function plainErrorsIn(file: string, text: string): string[] {
  const found: string[] = [];
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const where = (node: ts.Node) => `${file}:${source.getLineAndCharacterOfPosition(node.getStart()).line + 1}`;
  const visit = (node: ts.Node) => {
    if ((ts.isNewExpression(node) || ts.isCallExpression(node)) && ts.isIdentifier(node.expression) && PLAIN.has(node.expression.text)) {
      found.push(`${where(node)}: ${ts.isNewExpression(node) ? 'new ' : ''}${node.expression.text}(…)`);
    }
    if (ts.isClassDeclaration(node)) {
      const isTheRoot = node.name?.text === 'OrchestraError' && file === path.join('protocol', 'errors.ts');
      for (const type of (node.heritageClauses ?? []).flatMap((c) => c.types)) {
        const base = type.expression.getText(source);
        if (PLAIN.has(base) && !isTheRoot) found.push(`${where(node)}: class ${node.name?.text ?? '(anonymous)'} extends ${base}`);
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

const plainErrors = () => sourceFiles(SRC).flatMap((file) => plainErrorsIn(path.relative(SRC, file), fs.readFileSync(file, 'utf8')));

describe('one error tree', () => {
  it('constructs no plain Error under src/: every error Orchestra throws is an OrchestraError with a code from the table', () => {
    expect(plainErrors()).toEqual([]);
  });

  it('sees a plain error where there is one (the scan itself works)', () => {
    const text = 'class Odd extends Error {}\nthrow new Error("x");\nconst e = TypeError("y");\n';
    expect(plainErrorsIn('x.ts', text)).toEqual(['x.ts:1: class Odd extends Error', 'x.ts:2: new Error(…)', 'x.ts:3: TypeError(…)']);
    expect(plainErrorsIn(path.join('protocol', 'errors.ts'), 'export class OrchestraError extends Error {}')).toEqual([]);
  });

  it('makes NonRetryableError an OrchestraError: Orchestra code from the table, the handler’s own code kept for the task', () => {
    const own = new NonRetryableError('bad input', 'E_INPUT', { field: 'x' });
    expect(own).toBeInstanceOf(OrchestraError);
    expect(own).toMatchObject({ code: 'ORC_WORKER_HANDLER_FAILED', taskCode: 'E_INPUT', retryable: false, details: { field: 'x' } });
    const tabled = new NonRetryableError('no such workload', 'ORC_WORKER_NO_HANDLER');
    expect(tabled).toMatchObject({ code: 'ORC_WORKER_NO_HANDLER', taskCode: 'ORC_WORKER_NO_HANDLER' });
    expect(Object.keys(ERROR_CODES)).toContain(own.code);
  });
});
