import { Command } from 'commander';
import { createEsClient, esUrl, loadEsConfig } from '@mlmon/runtime';
import { ensureDistribution, ES_VERSION } from './distribution.js';
import { describeReport, ensureCluster, localClusterStatus, stopLocalCluster } from './cluster.js';
import { setupTemplates } from '@mlmon/contract';

const program = new Command('es').description(`the local Elasticsearch ${ES_VERSION} and mlmon's templates`);

program
  .command('fetch')
  .description('download the Elasticsearch distribution through Maven into the cache and unpack it; nothing to do once unpacked')
  .action(async () => {
    // Once unpacked the zip is not needed, and Maven alone takes half a minute to start and find it in its cache.
    console.log(`Elasticsearch ${ES_VERSION}: ${await ensureDistribution()}`);
  });

program
  .command('start')
  .description('start the local cluster (unless MLMON_ES_URL is set) and install the templates')
  .action(async () => {
    const { url, local, report } = await ensureCluster(loadEsConfig());
    console.log(`${local ? 'local cluster' : 'existing cluster (MLMON_ES_URL)'}: ${url}\n${describeReport(report)}`);
  });

program
  .command('stop')
  .description('stop the local cluster')
  .action(async () => {
    if (!(await stopLocalCluster())) console.log('local cluster is not running');
  });

program
  .command('status')
  .description('show whether the local cluster runs, its URL and health')
  .action(async () => {
    const config = loadEsConfig();
    if (config.MLMON_ES_URL) {
      const client = createEsClient(config);
      const health = await client.cluster.health();
      console.log(`existing cluster (MLMON_ES_URL) ${esUrl(config)}: ${health.status}`);
      await client.close();
      return;
    }
    const s = await localClusterStatus();
    const running = s.nodes.filter((n) => n.running);
    if (running.length === 0) console.log('not running');
    else if (s.nodes.length === 1) console.log(`running: ${running[0]!.url} pid ${running[0]!.pid}, version ${running[0]!.version ?? '?'}, health ${s.health ?? '?'}`);
    else {
      console.log(`running: ${running.length} of ${s.nodes.length} nodes, health ${s.health ?? '?'}`);
      for (const n of s.nodes) console.log(`  ${n.name} ${n.url} ${n.running ? `pid ${n.pid} ${n.roles ?? ''}${n.master ? ' (elected master)' : ''}` : 'not running'}`);
    }
    process.exitCode = running.length > 0 ? 0 : 3;
  });

program
  .command('setup')
  .description('install or update the index and component templates on the configured cluster')
  .action(async () => {
    const config = loadEsConfig();
    const client = createEsClient(config, { name: 'mlmon-setup' });
    try {
      console.log(describeReport(await setupTemplates(client, { prefix: config.MLMON_INDEX_PREFIX })));
    } finally {
      await client.close();
    }
  });

program.parseAsync().catch((err: Error) => {
  console.error(`error: ${err.message}`);
  process.exit(1);
});
