export * from './cluster.js';
export * from './distribution.js';
export * from './instance.js';
