import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { importSavedObjects, savedObjects, toNdjson } from '@mlmon/kibana';
import { loadConfig, loadEsConfig, waitUntil } from '@mlmon/runtime';
import { kibanaConfigShape } from '../config.js';

export function registerKibanaCommands(program: Command): void {
  const kibana = program.command('kibana').description('Kibana saved objects: data views, dashboards and saved searches for the mlmon indices');
  kibana
    .command('import')
    .description('import (overwrite) every saved object into the Kibana at MLMON_KIBANA_URL; importing again changes nothing')
    .option('--wait <seconds>', 'first wait this long for Kibana to answer (a setup job starting beside it)', (v) => Number(v), 0)
    .action(async (opts: { wait: number }) => {
      const k = loadConfig(kibanaConfigShape);
      const prefix = loadEsConfig().MLMON_INDEX_PREFIX;
      if (opts.wait > 0) {
        console.log(`waiting up to ${opts.wait} s for Kibana at ${k.MLMON_KIBANA_URL}`);
        await waitUntil(async () => (await fetch(`${k.MLMON_KIBANA_URL}/api/status`, { signal: AbortSignal.timeout(5000) })).status < 500, {
          timeoutMs: opts.wait * 1000,
          intervalMs: 2000,
          what: `Kibana at ${k.MLMON_KIBANA_URL} answering`,
        });
      }
      const objects = savedObjects(prefix);
      const { successCount } = await importSavedObjects(
        { url: k.MLMON_KIBANA_URL, username: k.MLMON_KIBANA_USERNAME, password: k.MLMON_KIBANA_PASSWORD, apiKey: k.MLMON_KIBANA_API_KEY, space: k.MLMON_KIBANA_SPACE },
        toNdjson(objects),
      );
      console.log(`imported ${successCount} saved objects for prefix "${prefix}" into ${k.MLMON_KIBANA_URL}`);
      for (const o of objects.filter((x) => x.type === 'dashboard')) console.log(`  dashboard  ${k.MLMON_KIBANA_URL}/app/dashboards#/view/${o.id}  ${String(o.attributes.title)}`);
    });
  kibana
    .command('export')
    .description('write the saved objects as NDJSON (for Stack Management > Saved objects > Import)')
    .option('--out <file>', 'file to write; standard output without it')
    .action((opts: { out?: string }) => {
      const ndjson = toNdjson(savedObjects(loadEsConfig().MLMON_INDEX_PREFIX));
      if (opts.out) writeFileSync(opts.out, ndjson);
      else process.stdout.write(ndjson);
    });
}
