import { combinationKey, parseSpace, type Combination, type Observation, type Space } from '../../src/evolution/index.js';

/** The example space of the public format, as users write it. */
export const ZLIB_SPACE_JSON = {
  name: 'zlib-tuning',
  objective: { metric: 'value', direction: 'minimize' },
  variables: {
    level: { type: 'int', min: 1, max: 9 },
    window: { type: 'int', min: 256, max: 32768, log: true },
    strategy: { type: 'categorical', choices: ['default', 'filtered', 'huffman', 'rle'] },
    ratio: { type: 'float', min: 0.0, max: 1.0 },
    dict: { type: 'bool' },
  },
} as const;

export const zlibSpace = (): Space => parseSpace(structuredClone(ZLIB_SPACE_JSON));

/** A two-float space on [0, 1]², minimised. */
export const planeSpace = (direction: 'minimize' | 'maximize' = 'minimize'): Space =>
  parseSpace({
    name: 'plane',
    objective: { metric: 'value', direction },
    variables: { x: { type: 'float', min: 0, max: 1 }, y: { type: 'float', min: 0, max: 1 } },
  });

/** Builds observations with consecutive trial numbers. */
export function observer(space: Space) {
  const observations: Observation[] = [];
  return {
    observations,
    add(combination: Combination, value: number | null, generation = 0): Observation {
      const o: Observation = {
        key: combinationKey(space, combination),
        combination,
        success: value !== null,
        value,
        generation,
        trial: observations.length,
      };
      observations.push(o);
      return o;
    },
  };
}

/** Asserts a combination has every variable with its type and within its bounds. */
export function respectsSpace(space: Space, c: Combination): boolean {
  for (const [name, v] of Object.entries(space.variables)) {
    const value = c[name];
    switch (v.type) {
      case 'bool':
        if (typeof value !== 'boolean') return false;
        break;
      case 'categorical':
        if (!v.choices.some((choice) => choice === value)) return false;
        break;
      case 'int':
        if (typeof value !== 'number' || !Number.isInteger(value) || value < v.min || value > v.max) return false;
        break;
      case 'float':
        if (typeof value !== 'number' || !Number.isFinite(value) || value < v.min || value > v.max) return false;
        break;
    }
  }
  return Object.keys(c).length === Object.keys(space.variables).length;
}
