// The writer thread's entry: a worker starts without the parent's TypeScript loader, so it loads the module through tsx's API.
import { tsImport } from 'tsx/esm/api';

await tsImport('./writer-thread.ts', import.meta.url);
