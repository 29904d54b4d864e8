import { fileURLToPath } from 'node:url';
import path from 'node:path';

export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/** Everything `mlmon up` starts keeps its state here (git-ignored); MLMON_RUN_DIR moves it, e.g. for tests. */
export function runPaths(runDir = process.env.MLMON_RUN_DIR || path.join(REPO_ROOT, 'run')) {
  return {
    runDir,
    logs: path.join(runDir, 'logs'),
    nginx: path.join(runDir, 'nginx'),
    stackFile: path.join(runDir, 'stack.json'),
    modelState: path.join(runDir, 'model-state.json'),
    supervisorLog: path.join(runDir, 'supervisor.log'),
  };
}
export type RunPaths = ReturnType<typeof runPaths>;
