export * from './control.js';
export * from './render.js';
