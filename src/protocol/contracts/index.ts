export * from './system.js';
export * from './pipeline.js';
export * from './fleet.js';
export * from './experiment.js';
