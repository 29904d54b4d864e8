import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { z } from 'zod';
import { importSavedObjects, savedObjects, toNdjson } from '@mlmon/kibana';
import { loadConfig, loadEsConfig } from '@mlmon/runtime';

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
    .action(async () => {
      const k = loadConfig(kibanaConfigShape);
      const prefix = loadEsConfig().MLMON_INDEX_PREFIX;
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
