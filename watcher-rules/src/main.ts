import { loadRunnerConfig } from './config.js';
import { startRunner } from './runner.js';

/** `node dist/main.js`: the rule runner as a service; a bad variable or watch stops it at once with one line. */
let runner: Awaited<ReturnType<typeof startRunner>>;
try {
  runner = await startRunner(loadRunnerConfig());
} catch (err) {
  console.error(`rule-runner: ${(err as Error).message}`);
  process.exit(1);
}

let stopping = false;
async function shutdown(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  console.log(`rule-runner: ${signal}: finishing running executions`);
  await runner.stop();
  process.exit(0);
}
process.on('SIGTERM', () => void shutdown('SIGTERM'));
process.on('SIGINT', () => void shutdown('SIGINT'));
