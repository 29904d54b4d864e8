import type { Command } from 'commander';
import { applyRetention, RETENTION_DAYS, setupLifecycle, setupSecurity, setupTemplates } from '@mlmon/contract';
import { createEsClient, loadConfig, loadEsConfig } from '@mlmon/runtime';
import { setupSecurityConfigShape } from '../config.js';

/** Commands that manage what is stored: templates, lifecycle, retention. */
export function registerDataCommands(program: Command): void {
  program
    .command('setup')
    .description('install or update index templates and, where the cluster has ILM, the retention policies (the setup job of docker-compose)')
    .option('--security', 'also put the service roles and users (native realm; passwords from MLMON_<SERVICE>_PASSWORD) and the kibana_system password')
    .action(async (opts: { security?: boolean }) => {
      const config = loadEsConfig();
      const client = createEsClient(config, { name: 'mlmon-setup' });
      try {
        const report = await setupTemplates(client, { prefix: config.MLMON_INDEX_PREFIX });
        console.log(`templates: ${report.created.length} created, ${report.updated.length} updated, ${report.unchanged.length} unchanged`);
        const ilm = await setupLifecycle(client, { prefix: config.MLMON_INDEX_PREFIX });
        console.log(ilm ? 'lifecycle: ILM policies installed' : 'lifecycle: this cluster has no ILM; run `mlmon retention` daily instead');
        if (opts.security) {
          const env = loadConfig(setupSecurityConfigShape);
          const passwords = { shipper: env.MLMON_SHIPPER_PASSWORD, analyzer: env.MLMON_ANALYZER_PASSWORD, rules: env.MLMON_RULES_PASSWORD, reader: env.MLMON_READER_PASSWORD };
          const done = await setupSecurity(client, { prefix: config.MLMON_INDEX_PREFIX, passwords, ...(env.MLMON_KIBANA_SYSTEM_PASSWORD ? { kibanaSystemPassword: env.MLMON_KIBANA_SYSTEM_PASSWORD } : {}) });
          console.log(`security: roles ${done.roles.join(', ')}; users ${done.users.join(', ') || 'none'}`);
        }
      } finally {
        await client.close();
      }
    });

  program
    .command('retention')
    .description(`delete daily indices past their retention (${Object.entries(RETENTION_DAYS).map(([f, d]) => `${f} ${d}d`).join(', ')}); for clusters without ILM`)
    .option('--dry-run', 'list what would be deleted, delete nothing')
    .action(async (opts: { dryRun?: boolean }) => {
      const config = loadEsConfig();
      const client = createEsClient(config, { name: 'mlmon-retention' });
      try {
        const { deleted, kept } = await applyRetention(client, { prefix: config.MLMON_INDEX_PREFIX, dryRun: opts.dryRun ?? false });
        for (const d of deleted) console.log(`${opts.dryRun ? 'would delete' : 'deleted'} ${d.index} (${d.family}, ${d.day}, kept ${d.keepDays} days)`);
        console.log(`${deleted.length} ${opts.dryRun ? 'to delete' : 'deleted'}, ${kept} kept`);
      } finally {
        await client.close();
      }
    });
}
