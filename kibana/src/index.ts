export * from './fields.js';
export * from './model.js';
export * from './definitions.js';
export * from './saved-objects.js';
export * from './es-request.js';
export * from './import.js';
