import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES } from '../../src/protocol/index.js';
import { README, readmeErrorTable, renderErrorTable } from '../../scripts/error-codes.js';

describe('README: error codes', () => {
  it('lists every code in ERROR_CODES with its meaning, as npm run docs:errors renders them', () => {
    const table = readmeErrorTable(fs.readFileSync(README, 'utf8'));
    // On a difference, `npm run docs:errors` rewrites the table.
    expect(table).toBe(renderErrorTable());
  });

  it('renders one row per code', () => {
    const rows = renderErrorTable().split('\n').slice(2);
    expect(rows).toHaveLength(Object.keys(ERROR_CODES).length);
    expect(rows[0]).toBe('| `ORC_PROTOCOL_INVALID_JSON` | the text is not valid JSON |');
  });
});
