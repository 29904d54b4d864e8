import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { runLogDir } from '@mlmon/contract';
import { loadConfig } from '@mlmon/runtime';
import { stackConfigShape } from '../config.js';

export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/** A service's compiled entry point: processes run it with plain node, so signals reach them directly. */
export function serviceEntry(pkg: 'api' | 'log-shipper' | 'analyzer' | 'watcher-rules' | 'remediator' | 'cli'): string {
  return path.join(REPO_ROOT, pkg, 'dist', 'main.js');
}

/** Everything `mlmon up` starts keeps its state here (git-ignored); MLMON_RUN_DIR moves it, e.g. for tests. */
export function runPaths(runDir = loadConfig({ MLMON_RUN_DIR: stackConfigShape.MLMON_RUN_DIR }).MLMON_RUN_DIR) {
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
