import { describe, it, expect } from 'vitest';
import { formatNumber } from '../../src/cli/format.js';

describe('formatNumber', () => {
  it('prints integers whole, however large', () => {
    expect(formatNumber(1_048_576)).toBe('1048576');
    expect(formatNumber(12_345)).toBe('12345');
    expect(formatNumber(0)).toBe('0');
    expect(formatNumber(-42)).toBe('-42');
  });

  it('prints other values to four significant digits without an exponent, keeping the digits before the point', () => {
    expect(formatNumber(0.234567891)).toBe('0.2346');
    expect(formatNumber(3.14159)).toBe('3.142');
    expect(formatNumber(43.2171)).toBe('43.22');
    expect(formatNumber(12_345.678)).toBe('12346');
    expect(formatNumber(0.000123456)).toBe('0.0001235');
    expect(formatNumber(0.5)).toBe('0.5');
    expect(formatNumber(-0.01426001)).toBe('-0.01426');
    expect(formatNumber(9.99996)).toBe('10');
  });

  it('uses an exponent only for tiny or huge values, and a dash for none', () => {
    expect(formatNumber(1.23456e-9)).toBe('1.235e-9');
    expect(formatNumber(null)).toBe('-');
    expect(formatNumber(undefined)).toBe('-');
    expect(formatNumber(Number.NaN)).toBe('-');
  });
});
