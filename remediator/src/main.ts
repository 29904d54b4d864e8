import { loadRemediatorConfig, startRemediator } from './index.js';

const config = (() => {
  try {
    return loadRemediatorConfig();
  } catch (err) {
    console.error(`remediator: ${(err as Error).message}`);
    process.exit(1);
  }
})();
// Starting reads the TLS files and the state file: a bad one is one line, not a stack trace.
const running = await startRemediator(config).catch((err: unknown) => {
  console.error(`remediator: ${(err as Error).message}`);
  process.exit(1);
});
console.log(`remediator listening on ${running.url}${config.MLMON_REMEDIATOR_DRY_RUN ? ' (dry run)' : ''}`);

let stopping = false;
const shutdown = async () => {
  if (stopping) return;
  stopping = true;
  await running.close();
  process.exit(0);
};
process.on('SIGTERM', () => void shutdown());
process.on('SIGINT', () => void shutdown());
