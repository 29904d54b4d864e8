export * from './events/index.js';
export * from './validate.js';
export * from './ecs-line.js';
export * from './indices.js';
export * from './document-id.js';
export * from './templates.js';
export * from './log-files.js';
export * from './request-id.js';
