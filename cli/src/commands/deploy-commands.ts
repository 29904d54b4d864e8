import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { apiConfigShape } from '@mlmon/api/config';
import { renderNginxConf } from '@mlmon/nginx';
import { loadConfig } from '@mlmon/runtime';

/** Commands a deployment's setup job runs (docker-compose: see docker-compose.yml). */
export function registerDeployCommands(program: Command): void {
  const list = (v: string, acc: string[] = []) => [...acc, v];
  program
    .command('nginx-conf')
    .description('render nginx.conf from the one template the local stack uses, for a container or another host')
    .requiredOption('--out <file>', 'where to write it')
    .option('--listen <addr>', 'listen address or port', '8080')
    .option('--upstream <host:port>', 'a replica or a scaled service name (repeatable)', list)
    .option('--resolver <ip>', "re-resolve upstream names through this DNS server (Docker: 127.0.0.11)")
    .option('--user <name>', 'worker user when the master runs as root', 'nginx')
    .option('--status-port <port>', 'stub_status on 127.0.0.1', '8081')
    .option('--log-dir <dir>', 'where the ECS access log goes (the shipper tails it)', '/var/log/mlmon')
    .option('--run-dir <dir>', 'pid file', '/var/run')
    .option('--temp-dir <dir>', 'buffers', '/var/cache/nginx')
    .action((o: { out: string; listen: string; upstream?: string[]; resolver?: string; user: string; statusPort: string; logDir: string; runDir: string; tempDir: string }) => {
      const conf = renderNginxConf({
        listen: o.listen,
        upstreams: o.upstream ?? ['api:9001'],
        statusPort: Number(o.statusPort),
        // The replicas' own limit, so nginx refuses exactly what they would.
        bodyLimitBytes: loadConfig({ MLMON_API_BODY_LIMIT_BYTES: apiConfigShape.MLMON_API_BODY_LIMIT_BYTES }).MLMON_API_BODY_LIMIT_BYTES,
        logDir: o.logDir,
        runDir: o.runDir,
        tempDir: o.tempDir,
        user: o.user,
        workerProcesses: 'auto',
        ...(o.resolver ? { resolver: o.resolver } : {}),
      });
      mkdirSync(path.dirname(o.out), { recursive: true });
      writeFileSync(o.out, conf);
      console.log(`nginx.conf written to ${o.out}`);
    });
}
