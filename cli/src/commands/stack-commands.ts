import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { createEsClient, esUrl, loadEsConfig, waitUntil, type EsConfig } from '@mlmon/runtime';
import { describeReport, ensureCluster, localClusterStatus, stopLocalCluster } from '@mlmon/elasticsearch';
import { scaleReplicas, stackStatus } from '../stack/client.js';
import type { ProcessInfo } from '../stack/managed.js';
import { REPO_ROOT, runPaths, serviceEntry, type RunPaths } from '../stack/paths.js';
import { isAlive, runningStack, type StackFile } from '../stack/stack-file.js';
import { DEFAULT_SIMULATE, SCENARIOS, simulate, type Scenario } from '../simulate/scenarios.js';
import { summarize } from '../simulate/traffic.js';
import { supervise } from '../stack/supervise.js';

const int = (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new Error(`not a positive integer: ${v}`);
  return n;
};

function tail(file: string, lines = 20): string {
  return existsSync(file) ? readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n') : '';
}

/** Starts the supervisor in the background and waits until it has published its stack file. */
async function startSupervisor(paths: RunPaths, args: string[], esUrls: string[]): Promise<StackFile> {
  mkdirSync(paths.runDir, { recursive: true });
  const out = openSync(paths.supervisorLog, 'a');
  const child = spawn(process.execPath, [serviceEntry('cli'), 'supervise', ...args], {
    cwd: REPO_ROOT,
    detached: true,
    stdio: ['ignore', out, out],
    // Every node of the cluster, so that each service goes on through the others when one is lost.
    env: { ...process.env, MLMON_RUN_DIR: paths.runDir, MLMON_ES_URL: esUrls.join(',') },
  });
  child.unref();
  try {
    return await waitUntil(
      () => {
        const stack = runningStack(paths);
        return stack?.supervisorPid === child.pid && stack;
      },
      {
        timeoutMs: 120_000,
        intervalMs: 200,
        what: 'the stack coming up',
        abortIf: () => (child.exitCode !== null || !isAlive(child.pid!) ? 'the supervisor exited during start' : undefined),
      },
    );
  } catch (err) {
    throw new Error(`${(err as Error).message}:\n${tail(paths.supervisorLog)}`);
  }
}

async function health(p: ProcessInfo, stack: StackFile): Promise<string> {
  if (p.port === undefined) return p.pid ? 'alive' : 'down';
  const probe = p.name === 'remediator' ? 'healthz' : p.name === 'alertmanager' ? '-/ready' : 'readyz';
  const url = p.name === 'nginx' ? stack.nginxStatusUrl : `http://127.0.0.1:${p.port}/${probe}`;
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(1500) });
    return res.ok ? (p.name === 'nginx' ? `active ${/Active connections: (\d+)/.exec(await res.text())?.[1] ?? '?'}` : 'ready') : `HTTP ${res.status}`;
  } catch {
    return 'unreachable';
  }
}

async function printProcesses(stack: StackFile, processes: ProcessInfo[]): Promise<void> {
  for (const p of processes) {
    const where = p.name === 'nginx' ? stack.url : p.port ? `http://127.0.0.1:${p.port}` : '';
    console.log(`  ${p.name.padEnd(14)} ${where.padEnd(24)} pid ${String(p.pid ?? '-').padEnd(7)} ${p.state.padEnd(10)} ${(await health(p, stack)).padEnd(12)} restarts ${p.restarts}`);
  }
}

/** The cluster's health and each node: the local cluster's instances, or what MLMON_ES_URL's cluster says of its nodes. */
async function printCluster(config: EsConfig): Promise<void> {
  const row = (name: string, url: string, rest: string) => console.log(`  ${name.padEnd(14)} ${url.padEnd(24)} ${rest}`);
  if (config.MLMON_ES_URL) {
    const client = createEsClient(config, { name: 'mlmon-status', requestTimeout: 5000 });
    try {
      const [health, nodes] = await Promise.all([client.cluster.health(), client.cat.nodes({ format: 'json', h: 'name,http_address,node.role,master' })]);
      row('Elasticsearch', esUrl(config), `MLMON_ES_URL (not managed by mlmon), health ${health.status}, ${health.number_of_nodes} nodes`);
      for (const n of nodes) row(`  ${n.name ?? '?'}`, n.http_address ?? '', `${n['node.role'] ?? ''}${n.master === '*' ? ' elected master' : ''}`);
    } catch (err) {
      row('Elasticsearch', esUrl(config), `MLMON_ES_URL (not managed by mlmon), unreachable: ${(err as Error).message}`);
    } finally {
      await client.close();
    }
    return;
  }
  const s = await localClusterStatus();
  if (!s.nodes.some((n) => n.running)) return row('Elasticsearch', '', 'not running');
  if (s.nodes.length === 1) return row('Elasticsearch', s.nodes[0]!.url, `pid ${String(s.nodes[0]!.pid).padEnd(7)} ${s.nodes[0]!.version ?? '?'} health ${s.health ?? '?'}`);
  row('Elasticsearch', '', `local, ${s.nodes.filter((n) => n.running).length} of ${s.nodes.length} nodes running, health ${s.health ?? '?'}`);
  for (const n of s.nodes) {
    row(`  ${n.name}`, n.url, n.running ? `pid ${String(n.pid).padEnd(7)} ${(n.roles ?? '?').padEnd(4)} ${n.master ? 'elected master' : ''}` : 'not running');
  }
}

export function registerStackCommands(program: Command): void {
  program
    .command('up')
    .description('start the local stack: Elasticsearch, N api replicas behind nginx, supervised')
    .option('--replicas <n>', 'api replicas', int, 3)
    .option('--port <port>', 'nginx port; its status page listens on port+1, the control API on port+10', int, 8080)
    .option('--replica-port <port>', 'port of replica-1; replica-N listens on port+N-1', int, 9001)
    .option('--max-replicas <n>', 'most replicas `mlmon scale` may run (nginx gets one slot each)', int, 8)
    .option('--remediator-port <port>', "the remediator's webhooks (MLMON_REMEDIATOR_DRY_RUN=true and the other MLMON_REMEDIATOR_* variables configure it)", int, 8070)
    .option('--alertmanager-port <port>', 'Prometheus Alertmanager, which the rules notify (alertmanager/alertmanager.yml; `mlmon alerts`)', int, 9093)
    .option('--es-nodes <n>', 'nodes of the local Elasticsearch cluster (ignored with MLMON_ES_URL); node N listens on MLMON_ES_PORT+10(N-1)', int, 1)
    .action(async (opts: { replicas: number; port: number; replicaPort: number; maxReplicas: number; remediatorPort: number; alertmanagerPort: number; esNodes: number }) => {
      const config = loadEsConfig();
      const { url, urls, local, report } = await ensureCluster(config, console.log, { nodes: opts.esNodes });
      const paths = runPaths();
      let stack = runningStack(paths);
      if (stack) console.log('the stack already runs; `mlmon scale <n>` changes its replicas');
      else {
        console.log(`starting ${opts.replicas} replicas and nginx (log: ${paths.supervisorLog})`);
        if (opts.replicas > opts.maxReplicas) throw new Error(`--replicas ${opts.replicas} is above --max-replicas ${opts.maxReplicas}`);
        const args = ['--replicas', opts.replicas, '--port', opts.port, '--replica-port', opts.replicaPort, '--max-replicas', opts.maxReplicas, '--remediator-port', opts.remediatorPort, '--alertmanager-port', opts.alertmanagerPort];
        stack = await startSupervisor(paths, args.map(String), urls);
      }
      console.log(`\nmlmon is up:`);
      console.log(`  Elasticsearch  ${url.padEnd(24)} ${local ? `local, ${urls.length} node${urls.length > 1 ? 's' : ''}` : 'MLMON_ES_URL'}, ${describeReport(report)}, prefix "${config.MLMON_INDEX_PREFIX}"`);
      await printProcesses(stack, (await stackStatus(stack)).processes);
      console.log(`\n  predictions: curl -s ${stack.url}/v1/predict -H 'content-type: application/json' -d @api/examples/predict.json`);
      console.log(`  logs: ${stack.logDir}   stop: npm run mlmon -- down`);
    });

  program
    .command('supervise', { hidden: true })
    .option('--replicas <n>', 'api replicas', int, 3)
    .option('--port <port>', 'nginx port', int, 8080)
    .option('--replica-port <port>', 'port of replica-1', int, 9001)
    .option('--max-replicas <n>', 'nginx upstream slots', int, 8)
    .option('--remediator-port <port>', 'the remediator', int, 8070)
    .option('--alertmanager-port <port>', 'Alertmanager', int, 9093)
    .action(async (opts: { replicas: number; port: number; replicaPort: number; maxReplicas: number; remediatorPort: number; alertmanagerPort: number }) => {
      await supervise({
        paths: runPaths(),
        replicas: opts.replicas,
        maxReplicas: opts.maxReplicas,
        port: opts.port,
        statusPort: opts.port + 1,
        controlPort: opts.port + 10,
        firstReplicaPort: opts.replicaPort,
        remediatorPort: opts.remediatorPort,
        alertmanagerPort: opts.alertmanagerPort,
      });
    });

  program
    .command('down')
    .description('stop everything `mlmon up` started')
    .action(async () => {
      const paths = runPaths();
      const stack = runningStack(paths);
      if (stack) {
        await fetch(`${stack.controlUrl}/shutdown`, { method: 'POST', headers: { authorization: `Bearer ${stack.adminToken}` } });
        await waitUntil(() => !isAlive(stack.supervisorPid), { timeoutMs: 60_000, intervalMs: 200, what: 'the supervisor stopping' }).catch(() => {});
        if (isAlive(stack.supervisorPid)) process.kill(stack.supervisorPid, 'SIGKILL');
        console.log('stack stopped');
      }
      if (!loadEsConfig().MLMON_ES_URL && (await stopLocalCluster())) return;
      if (!stack) console.log('nothing to stop');
    });

  program
    .command('status')
    .description('show each process, its health and ports')
    .action(async () => {
      await printCluster(loadEsConfig());
      const stack = runningStack(runPaths());
      if (!stack) {
        console.log('  stack          not running (npm start)');
        process.exitCode = 3;
        return;
      }
      await printProcesses(stack, (await stackStatus(stack)).processes);
    });

  const d = DEFAULT_SIMULATE;
  const num = (v: string) => {
    const n = Number(v);
    if (!Number.isFinite(n) || n < 0) throw new Error(`not a non-negative number: ${v}`);
    return n;
  };
  program
    .command('simulate <scenario>')
    .description(`send traffic from the holdout sample through nginx: ${SCENARIOS.join(', ')}`)
    .option('--rate <n>', 'requests per second', num, d.rate)
    .option('--duration <s>', 'seconds', num, d.duration)
    .option('--feedback <fraction>', 'share of predictions that get ground truth', num, d.feedback)
    .option('--feedback-delay <s>', 'seconds before the ground truth is sent', num, d.feedbackDelay)
    .option('--factor <k>', 'spike: rate multiplier of the middle third', num, d.factor)
    .option('--features <names>', 'drift: comma-separated features to shift', (v) => v.split(','), d.features)
    .option('--shift <k>', 'drift: shift in training standard deviations', num, d.shift)
    .option('--mode <mode>', 'bad-model: canary or active', d.mode)
    .option('--weight <pct>', 'bad-model: canary weight', num, d.weight)
    .option('--replica <name>', 'replica-crash: which replica to kill', d.replica)
    .option('--region-feature <name>', 'concept-drift: the feature whose highest values make the region whose labels are flipped', d.regionFeature)
    .option('--region-share <fraction>', 'concept-drift: share of the holdout rows in that region', num, d.regionShare)
    .option('--shadow <version>', 'shadow: the version that predicts a copy of each sampled request', d.shadow)
    .option('--sample <fraction>', 'shadow: share of requests copied to it', num, d.sample)
    .action(async (scenario: string, opts: typeof d) => {
      if (!(SCENARIOS as readonly string[]).includes(scenario)) throw new Error(`unknown scenario "${scenario}": one of ${SCENARIOS.join(', ')}`);
      if (opts.mode !== 'canary' && opts.mode !== 'active') throw new Error('--mode must be canary or active');
      const stack = runningStack(runPaths());
      if (!stack) throw new Error('the stack is not running: npm start');
      const tally = await simulate(scenario as Scenario, opts, stack);
      console.log(`\n${scenario} summary:\n${summarize(tally)}`);
      if (tally.ok < tally.sent) process.exitCode = 2;
    });

  program
    .command('scale <replicas>')
    .description('add or remove api replicas without dropping a request (nginx keeps a slot per possible replica and is never reloaded)')
    .action(async (replicas: string) => {
      const stack = runningStack(runPaths());
      if (!stack) throw new Error('the stack is not running: npm start');
      const { processes } = await scaleReplicas(stack, int(replicas));
      await printProcesses(stack, processes);
    });
}
