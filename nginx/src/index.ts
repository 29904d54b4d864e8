export * from './control';
export * from './render';
