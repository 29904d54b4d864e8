import { readFileSync } from 'node:fs';
import Mustache from 'mustache';
import { LOG_BASENAMES, logFile, REQUEST_ID_PATTERN } from '@mlmon/contract';

const TEMPLATE = readFileSync(new URL('../nginx.conf.mustache', import.meta.url), 'utf8');

export interface NginxConfOptions {
  /** `127.0.0.1:8080` locally, `8080` in a container. */
  listen: string;
  /** `127.0.0.1:9001` locally, `api-1:9001` in docker-compose: every slot, occupied or not. */
  upstreams: string[];
  /** How long a failed upstream rests, and so how soon a replica started in an empty slot gets traffic. */
  failTimeoutS?: number;
  statusPort: number;
  bodyLimitBytes: number;
  logDir: string;
  /** pid file; written by the master. */
  runDir: string;
  /** Buffers the workers may write; must be reachable by the worker user. */
  tempDir: string;
  /** Worker user when the master runs as root. */
  user?: string;
  workerProcesses?: number | 'auto';
  /**
   * A DNS resolver (Docker's 127.0.0.11) for upstreams named by a service name that
   * an engine scales: nginx (1.27.3 or later) then re-resolves them while it runs.
   */
  resolver?: string;
}

/** The one nginx.conf template, rendered for the local stack or for docker-compose. */
export function renderNginxConf(o: NginxConfOptions): string {
  if (o.upstreams.length === 0) throw new Error('nginx needs at least one upstream replica');
  // Mustache's HTML escaping would mangle nothing here, but the config is not HTML: render values raw.
  // The access log is named by the hand-off contract, so the shipper and the tools look where nginx writes.
  const accessLogFile = logFile(o.logDir, LOG_BASENAMES.nginxAccess);
  return Mustache.render(TEMPLATE, { ...o, workerProcesses: o.workerProcesses ?? 1, failTimeoutS: o.failTimeoutS ?? 3, requestIdPattern: REQUEST_ID_PATTERN, accessLogFile }, {}, { escape: (v: string) => v });
}
