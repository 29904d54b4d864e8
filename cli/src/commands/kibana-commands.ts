import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { z } from 'zod';
import { importSavedObjects, savedObjects, toNdjson } from '@mlmon/kibana';
import { loadConfig, loadEsConfig, waitUntil } from '@mlmon/runtime';

/** Where Kibana is: read only by `kibana import` (docker-compose's setup job sets these too). */
export const kibanaConfigShape = {
  KIBANA_URL: z.url(),
  KIBANA_USERNAME: z.string().optional(),
  KIBANA_PASSWORD: z.string().optional(),
  KIBANA_API_KEY: z.string().optional(),
  KIBANA_SPACE: z.string().optional(),
};

export function registerKibanaCommands(program: Command): void {
  const kibana = program.command('kibana').description('Kibana saved objects: data views, dashboards and saved searches for the mlmon indices');
  kibana
    .command('import')
    .description('import (overwrite) every saved object into the Kibana at KIBANA_URL; importing again changes nothing')
    .option('--wait <seconds>', 'first wait this long for Kibana to answer (a setup job starting beside it)', (v) => Number(v), 0)
    .action(async (opts: { wait: number }) => {
      const k = loadConfig(kibanaConfigShape);
      const prefix = loadEsConfig().MLMON_INDEX_PREFIX;
      if (opts.wait > 0) {
        console.log(`waiting up to ${opts.wait} s for Kibana at ${k.KIBANA_URL}`);
        await waitUntil(async () => (await fetch(`${k.KIBANA_URL}/api/status`, { signal: AbortSignal.timeout(5000) })).status < 500, {
          timeoutMs: opts.wait * 1000,
          intervalMs: 2000,
          what: `Kibana at ${k.KIBANA_URL} answering`,
        });
      }
      const objects = savedObjects(prefix);
      const { successCount } = await importSavedObjects(
        { url: k.KIBANA_URL, username: k.KIBANA_USERNAME, password: k.KIBANA_PASSWORD, apiKey: k.KIBANA_API_KEY, space: k.KIBANA_SPACE },
        toNdjson(objects),
      );
      console.log(`imported ${successCount} saved objects for prefix "${prefix}" into ${k.KIBANA_URL}`);
      for (const o of objects.filter((x) => x.type === 'dashboard')) console.log(`  dashboard  ${k.KIBANA_URL}/app/dashboards#/view/${o.id}  ${String(o.attributes.title)}`);
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
