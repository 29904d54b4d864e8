import os from 'node:os';
import type { Command } from 'commander';
import ms from 'ms';
import { AlertmanagerClient, formatMatcher, parseMatcher, type GettableAlert, type Labels } from '@mlmon/alertmanager';
import { createEsClient, loadConfig, loadEsConfig } from '@mlmon/runtime';
import { resolvedAlerts, StateStore, type NotifiedAlert } from '@mlmon/watcher-rules';
import { alertsConfigShape } from '../config.js';

const client = () => new AlertmanagerClient(loadConfig(alertsConfigShape).MLMON_ALERTMANAGER_URL);

/** The labels that say which alert it is, beyond its rule and severity. */
const where = (l: Labels) =>
  Object.entries(l)
    .filter(([k]) => k !== 'alertname' && k !== 'severity' && k !== 'target')
    .map(([k, v]) => `${k}=${v}`)
    .join(' ') || (l.target ? `target=${l.target}` : 'stack-wide');

const line = (l: Labels, summary: string | undefined, tail: string) => `  ${(l.severity ?? '-').padEnd(9)} ${(l.alertname ?? '-').padEnd(26)} ${where(l).padEnd(24)} ${tail}${summary ? `  ${summary}` : ''}`;

/** Lines for `mlmon alerts`: Alertmanager's firing and suppressed alerts (why each is suppressed), then the runners' recently resolved ones. */
export function formatAlerts(alerts: GettableAlert[], resolved: NotifiedAlert[] | string): string[] {
  const byFingerprint = new Map(alerts.map((a) => [a.fingerprint, a]));
  const firing = alerts.filter((a) => a.status.state !== 'suppressed');
  const suppressed = alerts.filter((a) => a.status.state === 'suppressed');
  const why = (a: GettableAlert) =>
    [
      ...a.status.silencedBy.map((id) => `silenced by ${id}`),
      ...a.status.inhibitedBy.map((f) => `inhibited by ${byFingerprint.get(f)?.labels.alertname ?? f}`),
    ].join(', ');
  return [
    `firing (${firing.length})`,
    ...firing.map((a) => line(a.labels, a.annotations.summary, `since ${a.startsAt.slice(0, 19)}Z`)),
    `suppressed (${suppressed.length})`,
    ...suppressed.map((a) => line(a.labels, a.annotations.summary, why(a))),
    ...(typeof resolved === 'string'
      ? [`resolved: ${resolved}`]
      : [`resolved in the last 24 h (${resolved.length})`, ...resolved.map((a) => line(a.labels, a.annotations.summary, `ended ${a.endsAt.slice(0, 19)}Z`))]),
  ];
}

async function resolvedFromRunner(): Promise<NotifiedAlert[] | string> {
  const config = loadEsConfig();
  const es = createEsClient(config, { name: 'mlmon-alerts' });
  try {
    return await resolvedAlerts(new StateStore(es, config.MLMON_INDEX_PREFIX));
  } catch (err) {
    return `not read (Elasticsearch: ${(err as Error).message})`;
  } finally {
    await es.close();
  }
}

/** `mlmon alerts …`: what Alertmanager holds, and its silences (docs/alerting.md). */
export function registerAlertsCommands(program: Command): void {
  const alerts = program
    .command('alerts')
    .description("what Alertmanager holds: firing, suppressed (silenced or inhibited) and recently resolved alerts; 'silence' and 'unsilence' them")
    .option('--filter <matcher...>', 'only alerts matching all of these, e.g. severity="critical"')
    .option('--json', 'one JSON document')
    .action(async (opts: { filter?: string[]; json?: boolean }) => {
      const filter = (opts.filter ?? []).map((m) => formatMatcher(parseMatcher(m)));
      const [held, resolved] = await Promise.all([client().alerts({ filter }), resolvedFromRunner()]);
      console.log(opts.json ? JSON.stringify({ alerts: held, resolved }, null, 2) : formatAlerts(held, resolved).join('\n'));
    });

  alerts
    .command('silence <matcher...>')
    .description('mute the alerts matching all matchers (name=value, name!=value, name=~regex, name!~regex) for a while; it expires by itself')
    .requiredOption('--for <duration>', 'how long, e.g. 30m, 2h, 1d')
    .requiredOption('--comment <text>', 'why (shown with the silence)')
    .option('--author <name>', 'who', `${os.userInfo().username}@${os.hostname()}`)
    .action(async (matchers: string[], opts: { for: string; comment: string; author: string }) => {
      const duration = ms(opts.for as ms.StringValue);
      if (typeof duration !== 'number' || !Number.isFinite(duration) || duration <= 0) throw new Error(`--for: not a duration: "${opts.for}" (e.g. 30m, 2h, 1d)`);
      const parsed = matchers.map(parseMatcher);
      const now = new Date();
      const id = await client().createSilence({ matchers: parsed, startsAt: now, endsAt: new Date(now.getTime() + duration), createdBy: opts.author, comment: opts.comment });
      console.log(`silence ${id}: ${parsed.map(formatMatcher).join(', ')} until ${new Date(now.getTime() + duration).toISOString()} (mlmon alerts unsilence ${id})`);
    });

  alerts
    .command('unsilence <id>')
    .description('end a silence now (Alertmanager keeps it, expired)')
    .action(async (id: string) => {
      await client().expireSilence(id);
      console.log(`silence ${id} expired`);
    });
}
