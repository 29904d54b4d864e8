import { loadAnalyzerConfig } from './config.js';
import { startAnalyzer } from './service.js';

let analyzer: Awaited<ReturnType<typeof startAnalyzer>>;
try {
  analyzer = await startAnalyzer(loadAnalyzerConfig());
} catch (err) {
  // A bad variable or reference profile stops the analyzer at once with one plain line.
  console.error(`analyzer: ${(err as Error).message}`);
  process.exit(1);
}

let stopping = false;
async function shutdown(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  console.log(`analyzer: ${signal}: finishing the pass under way`);
  await analyzer.stop();
  process.exit(0);
}
process.on('SIGTERM', () => void shutdown('SIGTERM'));
process.on('SIGINT', () => void shutdown('SIGINT'));
