import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../src/protocol/index.js';
import { checkCombination, combinationKey, parseSpace, parseSpaceJson } from '../../src/evolution/index.js';
import { findDuplicateKey } from '../../src/protocol/index.js';
import { ZLIB_SPACE_JSON, zlibSpace } from './helpers.js';

function issuesOf(input: unknown): { path: string; code: string }[] {
  try {
    parseSpace(input);
  } catch (err) {
    expect(err).toBeInstanceOf(ValidationError);
    return (err as ValidationError).issues.map(({ path, code }) => ({ path, code }));
  }
  throw new Error('expected parseSpace to throw');
}

const withVariables = (variables: unknown) => ({ ...structuredClone(ZLIB_SPACE_JSON), variables });

describe('parseSpace', () => {
  it('accepts the documented example unchanged', () => {
    expect(parseSpace(structuredClone(ZLIB_SPACE_JSON))).toEqual(ZLIB_SPACE_JSON);
  });

  it('accepts string, number and boolean choices, and log-scaled floats', () => {
    const space = parseSpace(
      withVariables({
        mixed: { type: 'categorical', choices: ['a', 1, '1', true, 2.5] },
        rate: { type: 'float', min: 1e-5, max: 1, log: true },
        fixed: { type: 'int', min: 3, max: 3 },
      }),
    );
    expect(space.variables.mixed).toEqual({ type: 'categorical', choices: ['a', 1, '1', true, 2.5] });
  });

  it.each([
    ['an unknown type', { x: { type: 'complex', min: 0, max: 1 } }, 'variables.x.type'],
    ['a missing type', { x: { min: 0, max: 1 } }, 'variables.x.type'],
    ['min greater than max (int)', { level: { type: 'int', min: 9, max: 1 } }, 'variables.level.min'],
    ['min greater than max (float)', { ratio: { type: 'float', min: 1, max: 0 } }, 'variables.ratio.min'],
    ['log with min 0', { window: { type: 'int', min: 0, max: 32768, log: true } }, 'variables.window.min'],
    ['log with a negative min', { rate: { type: 'float', min: -1, max: 1, log: true } }, 'variables.rate.min'],
    ['empty choices', { strategy: { type: 'categorical', choices: [] } }, 'variables.strategy.choices'],
    ['a duplicate choice', { strategy: { type: 'categorical', choices: ['a', 'b', 'a'] } }, 'variables.strategy.choices.2'],
    ['a non-scalar choice', { strategy: { type: 'categorical', choices: ['a', { b: 1 }] } }, 'variables.strategy.choices.1'],
    ['a fractional int bound', { level: { type: 'int', min: 1.5, max: 9 } }, 'variables.level.min'],
    ['a missing max', { level: { type: 'int', min: 1 } }, 'variables.level.max'],
    ['an unknown field (a typo)', { window: { type: 'int', min: 256, max: 32768, lgo: true } }, 'variables.window'],
    ['no variables', {}, 'variables'],
  ])('rejects %s, naming the field', (_case, variables, path) => {
    expect(issuesOf(withVariables(variables)).map((i) => i.path)).toContain(path);
  });

  it('rejects a missing objective, naming it', () => {
    const { objective: _objective, ...rest } = structuredClone(ZLIB_SPACE_JSON);
    expect(issuesOf(rest)).toContainEqual({ path: 'objective', code: 'ORC_PROTOCOL_MISSING_FIELD' });
  });

  it('rejects a direction other than minimize or maximize', () => {
    const input = { ...structuredClone(ZLIB_SPACE_JSON), objective: { metric: 'value', direction: 'lowest' } };
    expect(issuesOf(input)).toContainEqual({ path: 'objective.direction', code: 'ORC_PROTOCOL_INVALID_VALUE' });
  });

  it('takes failures: exclude or retry, refusing anything else and retry on a maximized objective', () => {
    expect(parseSpace({ ...structuredClone(ZLIB_SPACE_JSON), objective: { metric: 'value', direction: 'minimize', failures: 'retry' } }).objective.failures).toBe('retry');
    const bad = { ...structuredClone(ZLIB_SPACE_JSON), objective: { metric: 'value', direction: 'minimize', failures: 'ignore' } };
    expect(issuesOf(bad)).toContainEqual({ path: 'objective.failures', code: 'ORC_PROTOCOL_INVALID_VALUE' });
    const maximized = { ...structuredClone(ZLIB_SPACE_JSON), objective: { metric: 'ratio', direction: 'maximize', failures: 'retry' } };
    expect(issuesOf(maximized).map((i) => i.path)).toContain('objective.failures');
  });

  it('rejects missing variables and a missing name', () => {
    const { variables: _v, name: _n, ...rest } = structuredClone(ZLIB_SPACE_JSON);
    expect(issuesOf(rest).map((i) => i.path).sort()).toEqual(['name', 'variables']);
  });

  it('rejects something that is not an object', () => {
    expect(issuesOf('zlib')).toEqual([{ path: '(root)', code: 'ORC_PROTOCOL_WRONG_TYPE' }]);
  });

  it('rejects a variable named __proto__ instead of dropping it', () => {
    const input = JSON.parse(`{"name": "s", "objective": {"metric": "value", "direction": "minimize"},
      "variables": {"__proto__": {"type": "bool"}, "level": {"type": "int", "min": 1, "max": 9}}}`);
    expect(issuesOf(input)).toEqual([{ path: 'variables.__proto__', code: 'ORC_PROTOCOL_INVALID_VALUE' }]);
  });
});

describe('parseSpaceJson', () => {
  const text = (variables: string) => `{"name": "s", "objective": {"metric": "value", "direction": "minimize"}, "variables": {${variables}}}`;

  it('rejects a variable declared twice instead of keeping the last, naming it', () => {
    const parse = () => parseSpaceJson('space s.json', text(`"level": {"type": "bool"}, "ratio": {"type": "bool"}, "level": {"type": "int", "min": 1, "max": 9}`));
    expect(parse).toThrow(ValidationError);
    expect(parse).toThrow('invalid space s.json: variables.level: declared twice');
  });

  it('parses a space without duplicates, whatever its strings hold', () => {
    const space = parseSpaceJson('space', text(`"a": {"type": "categorical", "choices": ["{\\"a\\": 1, \\"a\\": 2}", "x,y", "[}"]}, "b": {"type": "bool"}`));
    expect(Object.keys(space.variables)).toEqual(['a', 'b']);
  });
});

describe('findDuplicateKey', () => {
  it.each([
    ['{"a": 1, "b": 2}', undefined],
    ['{"a": {"x": 1}, "b": {"x": 2}}', undefined],
    ['[{"a": 1}, {"a": 2}]', undefined],
    ['{"a": 1, "a": 2}', { path: [], key: 'a' }],
    ['{"v": [1, {"k": {}, "k": []}]}', { path: ['v', 1], key: 'k' }],
    ['{"\\u0061": 1, "a": 2}', { path: [], key: 'a' }],
    ['{"s": "\\"a\\": 1", "a": {"b": [], "c": {}, "b": 2}}', { path: ['a'], key: 'b' }],
  ])('finds the duplicate in %s', (json, expected) => {
    expect(findDuplicateKey(json)).toEqual(expected);
  });
});

describe('combinationKey', () => {
  const space = zlibSpace();
  const c = { level: 6, window: 4096, strategy: 'filtered', ratio: 0.3, dict: true };

  it('is the same whatever order the names come in', () => {
    const reordered = { dict: true, ratio: 0.3, strategy: 'filtered', window: 4096, level: 6 };
    expect(combinationKey(space, reordered)).toBe(combinationKey(space, c));
    expect(combinationKey(space, c)).toBe('{"dict":true,"level":6,"ratio":0.3,"strategy":"filtered","window":4096}');
  });

  it('rounds floats to 12 significant digits, so arithmetic noise keys the same', () => {
    expect(combinationKey(space, { ...c, ratio: 0.1 + 0.2 })).toBe(combinationKey(space, { ...c, ratio: 0.3 }));
    expect(combinationKey(space, { ...c, ratio: 0.300000001 })).not.toBe(combinationKey(space, { ...c, ratio: 0.3 }));
  });

  it('tells a number choice from the same string choice', () => {
    const s = parseSpace({ name: 's', objective: { metric: 'v', direction: 'maximize' }, variables: { k: { type: 'categorical', choices: [1, '1'] } } });
    expect(combinationKey(s, { k: 1 })).not.toBe(combinationKey(s, { k: '1' }));
  });

  it('refuses an invalid combination', () => {
    expect(() => combinationKey(space, { ...c, level: 10 })).toThrow(ValidationError);
  });
});

describe('checkCombination', () => {
  const space = zlibSpace();
  const valid = { level: 6, window: 4096, strategy: 'filtered', ratio: 0.3, dict: true };

  const issues = (c: unknown) => {
    try {
      checkCombination(space, c);
      return [];
    } catch (err) {
      return (err as ValidationError).issues.map(({ path, code }) => ({ path, code }));
    }
  };

  it('returns a canonical copy of a valid combination', () => {
    const out = checkCombination(space, valid);
    expect(out).toEqual(valid);
    expect(Object.keys(out)).toEqual(['dict', 'level', 'ratio', 'strategy', 'window']);
  });

  it.each([
    ['a fractional int', { level: 6.5 }, 'level', 'ORC_PROTOCOL_WRONG_TYPE'],
    ['an int above max', { level: 10 }, 'level', 'ORC_PROTOCOL_OUT_OF_RANGE'],
    ['a float below min', { ratio: -0.1 }, 'ratio', 'ORC_PROTOCOL_OUT_OF_RANGE'],
    ['a string for a number', { window: '4096' }, 'window', 'ORC_PROTOCOL_WRONG_TYPE'],
    ['NaN for a float', { ratio: Number.NaN }, 'ratio', 'ORC_PROTOCOL_WRONG_TYPE'],
    ['an unknown choice', { strategy: 'fast' }, 'strategy', 'ORC_PROTOCOL_INVALID_VALUE'],
    ['a number for a bool', { dict: 1 }, 'dict', 'ORC_PROTOCOL_WRONG_TYPE'],
    ['a missing variable', { dict: undefined }, 'dict', 'ORC_PROTOCOL_MISSING_FIELD'],
    ['an unknown variable', { speed: 3 }, 'speed', 'ORC_PROTOCOL_UNKNOWN_FIELD'],
  ])('rejects %s, naming the variable', (_case, change, path, code) => {
    expect(issues({ ...valid, ...change })).toEqual([{ path, code }]);
  });

  it('rejects a value that is not an object', () => {
    expect(issues([1, 2])).toEqual([{ path: '(root)', code: 'ORC_PROTOCOL_WRONG_TYPE' }]);
  });
});
