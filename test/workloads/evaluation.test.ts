import { describe, it, expect } from 'vitest';
import { evaluationInputSchema, evaluationSchema, parseEvaluationOutput } from '../../src/workloads/index.js';

describe('parseEvaluationOutput', () => {
  it('reads a successful evaluation, keeping extra numeric fields as metrics', () => {
    const parsed = parseEvaluationOutput('{"success": true, "value": 0.25, "latencyMs": 12, "rss": 1e6}\n');
    expect(parsed).toEqual({ success: true, value: 0.25, metrics: { latencyMs: 12, rss: 1e6 }, reason: null });
  });

  it('ignores extra fields that are not numbers', () => {
    const parsed = parseEvaluationOutput(JSON.stringify({ success: true, value: -3, host: 'a', ok: true, nested: { n: 1 }, list: [1], none: null }));
    expect(parsed).toEqual({ success: true, value: -3, metrics: {}, reason: null });
  });

  it('accepts a failure whose value is null or absent, keeping its reason and metrics', () => {
    expect(parseEvaluationOutput('{"success": false, "value": null}')).toEqual({
      success: false,
      value: null,
      metrics: {},
      reason: 'the evaluator reported success: false',
    });
    expect(parseEvaluationOutput('{"success": false, "reason": "out of memory", "peakMb": 512}')).toEqual({
      success: false,
      value: null,
      metrics: { peakMb: 512 },
      reason: 'out of memory',
    });
    expect(parseEvaluationOutput('{"success": false, "error": "crashed"}').reason).toBe('crashed');
  });

  it('keeps the value a failure reports, for the record', () => {
    expect(parseEvaluationOutput('{"success": false, "value": 7}')).toMatchObject({ success: false, value: 7 });
  });

  it.each([
    ['', 'output is empty: expected one JSON object'],
    ['   \n', 'output is empty: expected one JSON object'],
    ['hello', 'output is not JSON: '],
    ['{"success": true, "value": 1', 'output is not JSON: '],
    ['{"success": true, "value": 1}\n{"success": true, "value": 2}', 'output is not JSON: '],
    ['{"success": true, "value": Infinity}', 'output is not JSON: '],
    ['{"success": true, "value": NaN}', 'output is not JSON: '],
    ['[{"success": true, "value": 1}]', 'output must be one JSON object, got an array'],
    ['null', 'output must be one JSON object, got null'],
    ['42', 'output must be one JSON object, got a number'],
    ['"ok"', 'output must be one JSON object, got a string'],
    ['true', 'output must be one JSON object, got a boolean'],
    ['{}', 'success is missing: it must be true or false'],
    ['{"value": 1}', 'success is missing: it must be true or false'],
    ['{"success": "true", "value": 1}', 'success must be a boolean'],
    ['{"success": 1, "value": 1}', 'success must be a boolean'],
    ['{"success": null, "value": 1}', 'success must be a boolean'],
    ['{"success": true}', 'value must be a finite number when success is true'],
    ['{"success": true, "value": null}', 'value must be a finite number when success is true'],
    ['{"success": true, "value": "NaN"}', 'value must be a finite number when success is true'],
    ['{"success": true, "value": "0.5"}', 'value must be a finite number when success is true'],
    ['{"success": true, "value": 1e999}', 'value must be a finite number when success is true'],
    ['{"success": true, "value": [1]}', 'value must be a finite number when success is true'],
  ])('fails %j, saying why', (stdout, reason) => {
    const parsed = parseEvaluationOutput(stdout);
    expect(parsed.success).toBe(false);
    expect(parsed.value).toBeNull();
    expect(parsed.reason!.startsWith(reason)).toBe(true);
  });

  it('names the JSON error when output holds two objects', () => {
    expect(parseEvaluationOutput('{"success":true,"value":1}{"success":true,"value":2}').reason).toMatch(/^output is not JSON: .*position 26/);
  });

  it('never lets an infinite metric through', () => {
    expect(parseEvaluationOutput('{"success": true, "value": 1, "huge": 1e999}').metrics).toEqual({});
  });
});

describe('evaluation schemas', () => {
  it('accept the input an evaluator receives, and refuse anything else', () => {
    expect(evaluationInputSchema.parse({ variables: { level: 6, algorithm: 'gzip', fast: true }, trial: 3 })).toEqual({
      variables: { level: 6, algorithm: 'gzip', fast: true },
      trial: 3,
    });
    expect(evaluationInputSchema.safeParse({ variables: {}, trial: -1 }).success).toBe(false);
    expect(evaluationInputSchema.safeParse({ variables: { a: null }, trial: 0 }).success).toBe(false);
    expect(evaluationInputSchema.safeParse({ variables: {}, trial: 0, extra: 1 }).success).toBe(false);
  });

  it('accept a recorded evaluation', () => {
    const evaluation = { ...parseEvaluationOutput('{"success": true, "value": 2, "ms": 3}'), durationMs: 4 };
    expect(evaluationSchema.parse(evaluation)).toEqual(evaluation);
    expect(evaluationSchema.safeParse({ ...evaluation, durationMs: -1 }).success).toBe(false);
  });
});
