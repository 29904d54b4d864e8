import { loadRemediatorConfig, startRemediator } from './index.js';

const config = (() => {
  try {
    return loadRemediatorConfig();
  } catch (err) {
    console.error(`remediator: ${(err as Error).message}`);
    process.exit(1);
  }
})();
const running = await startRemediator(config);
console.log(`remediator listening on ${running.url}${config.REMEDIATOR_DRY_RUN ? ' (dry run)' : ''}`);

let stopping = false;
const shutdown = async () => {
  if (stopping) return;
  stopping = true;
  await running.close();
  process.exit(0);
};
process.on('SIGTERM', () => void shutdown());
process.on('SIGINT', () => void shutdown());
