export * from './config';
export * from './es-client';
export * from './events';
export * from './indices';
export * from './validate';
export * from './write-events';
export * from './ecs-line';
export * from './event-log';
