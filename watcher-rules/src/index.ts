export { loadRunnerConfig, runnerConfigShape, deploymentOf, type RunnerConfig } from './config.js';
export { startRunner, type Runner, type RunnerOptions } from './runner.js';
export { loadWatches, parseWatch, WatchError, WATCHES_DIR, type LoadedWatch } from './load.js';
export { historyPattern } from './state.js';
export { dryRun, dryRunTick, type TickResult } from './dry-run.js';
export { checkWatcher, installWatches } from './installer.js';
export { rulesInstall, rulesList, rulesTest, rulesAck, formatTicks } from './commands.js';
export { alertmanagerAction, resolvedAlerts, withAlertmanager } from './alertmanager.js';
export { StateStore, type NotifiedAlert } from './state.js';
