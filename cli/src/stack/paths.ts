import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { DEFAULT_RUN_DIR, runLogDir } from '@mlmon/contract';

export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/** A service's compiled entry point: processes run it with plain node, so signals reach them directly. */
export function serviceEntry(pkg: 'api' | 'log-shipper' | 'analyzer' | 'watcher-rules' | 'remediator' | 'cli'): string {
  return path.join(REPO_ROOT, pkg, 'dist', 'main.js');
}

/** Everything `mlmon up` starts keeps its state here (git-ignored); MLMON_RUN_DIR moves it, e.g. for tests. */
export function runPaths(runDir = process.env.MLMON_RUN_DIR || DEFAULT_RUN_DIR) {
  return {
    runDir,
    logs: runLogDir(runDir),
    nginx: path.join(runDir, 'nginx'),
    stackFile: path.join(runDir, 'stack.json'),
    modelState: path.join(runDir, 'model-state.json'),
    supervisorLog: path.join(runDir, 'supervisor.log'),
    remediatorState: path.join(runDir, 'remediator', 'state.json'),
    retrainWork: path.join(runDir, 'remediator', 'retrain'),
    /** Versions the retrain job made: the replicas load them from here, beside the committed ones. */
    retrainedModels: path.join(runDir, 'models'),
  };
}
export type RunPaths = ReturnType<typeof runPaths>;
