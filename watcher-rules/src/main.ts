import { EventEmitter } from 'node:events';
import { loadRunnerConfig } from './config.js';
import { startRunner } from './runner.js';

// The 8.8 client adds an 'abort' listener per request in flight to one emitter per connection; every
// rule's tick falls on the same second, so more than Node's default of 10 are normal here, not a leak.
EventEmitter.defaultMaxListeners = 100;

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
