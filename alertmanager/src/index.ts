export * from './client.js';
export * from './process.js';
