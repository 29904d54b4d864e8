export * from './cluster';
export * from './distribution';
export * from './instance';
export * from './templates';
