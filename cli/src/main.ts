import { Command } from 'commander';
import { loadEsConfig } from '@mlmon/common';
import { describeReport, ensureCluster, localClusterStatus, stopLocalCluster } from '@mlmon/elasticsearch';

const program = new Command('mlmon').description('log-centric monitoring for deployed ML models');

program
  .command('up')
  .description('start the local stack and print what runs')
  .action(async () => {
    const config = loadEsConfig();
    const { url, local, report } = await ensureCluster(config);
    console.log(
      [
        '',
        'mlmon is up:',
        `  Elasticsearch  ${url}  ${local ? '(local, started by mlmon; `npm run mlmon -- down` stops it)' : '(ES_URL, not managed by mlmon)'}`,
        `  ${describeReport(report)}, index prefix "${config.MLMON_INDEX_PREFIX}"`,
      ].join('\n'),
    );
  });

program
  .command('down')
  .description('stop everything `mlmon up` started')
  .action(async () => {
    if (!(await stopLocalCluster())) console.log('nothing to stop');
  });

program
  .command('status')
  .description('show what runs')
  .action(async () => {
    const config = loadEsConfig();
    if (config.ES_URL) {
      console.log(`Elasticsearch  ${config.ES_URL}  (ES_URL, not managed by mlmon)`);
      return;
    }
    const s = await localClusterStatus();
    console.log(
      s.running
        ? `Elasticsearch  ${s.url}  pid ${s.pid}  ${s.version ?? '?'}  health ${s.health ?? '?'}`
        : 'Elasticsearch  not running',
    );
  });

program.parseAsync().catch((err: Error) => {
  console.error(`error: ${err.message}`);
  process.exit(1);
});
