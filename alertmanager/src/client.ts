/**
 * Alertmanager's API v2 (api/v2/openapi.yaml in prometheus/alertmanager), the few endpoints mlmon uses.
 * Written by hand: npm has no maintained client for it (the TypeScript bindings there are archived).
 */

export type Labels = Record<string, string>;

/** What a client posts: POST /api/v2/alerts takes an array of these. */
export interface PostableAlert {
  labels: Labels;
  annotations?: Labels;
  startsAt?: string;
  endsAt?: string;
  generatorURL?: string;
}

export interface GettableAlert extends Required<Pick<PostableAlert, 'labels' | 'annotations' | 'startsAt' | 'endsAt'>> {
  fingerprint: string;
  updatedAt: string;
  receivers: Array<{ name: string }>;
  status: { state: 'active' | 'suppressed' | 'unprocessed'; silencedBy: string[]; inhibitedBy: string[] };
}

export interface AlertGroup {
  labels: Labels;
  receiver: { name: string };
  alerts: GettableAlert[];
}

export interface Matcher {
  name: string;
  value: string;
  isRegex: boolean;
  isEqual: boolean;
}

export interface Silence {
  id: string;
  matchers: Matcher[];
  startsAt: string;
  endsAt: string;
  updatedAt: string;
  createdBy: string;
  comment: string;
  status: { state: 'active' | 'pending' | 'expired' };
}

/** Alertmanager answered with an error: its status and message (e.g. 400 "end time can't be in the past"). */
export class AlertmanagerError extends Error {
  constructor(
    readonly status: number,
    readonly detail: string,
    what: string,
  ) {
    super(`Alertmanager refused ${what}: HTTP ${status} ${detail}`);
    this.name = 'AlertmanagerError';
  }
}

/**
 * One matcher as Alertmanager and amtool write them: `name="value"`, `name!=value`, `name=~"regex"`,
 * `name!~regex` (quotes optional). Label names are Prometheus' ([a-zA-Z_][a-zA-Z0-9_]*).
 */
export function parseMatcher(text: string): Matcher {
  const m = /^\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*(.*?)\s*$/.exec(text);
  if (!m) throw new Error(`bad matcher "${text}": write name=value, name!=value, name=~regex or name!~regex`);
  const [, name, op, raw] = m as unknown as [string, string, string, string];
  const value = /^".*"$/.test(raw) ? (JSON.parse(raw) as string) : raw;
  return { name, value, isRegex: op.includes('~'), isEqual: !op.startsWith('!') };
}

export const formatMatcher = (m: Matcher) => `${m.name}${m.isEqual ? '' : '!'}${m.isRegex ? '=~' : '='}${JSON.stringify(m.value)}`;

export interface ListFilter {
  active?: boolean;
  silenced?: boolean;
  inhibited?: boolean;
  /** Matchers, ANDed. */
  filter?: string[];
}

export class AlertmanagerClient {
  readonly url: string;
  constructor(
    url: string,
    private readonly timeoutMs = 5000,
  ) {
    this.url = url.replace(/\/$/, '');
  }

  private async call<T>(method: string, path: string, what: string, body?: unknown): Promise<T> {
    const res = await fetch(`${this.url}/api/v2${path}`, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(this.timeoutMs),
    });
    const text = await res.text();
    if (!res.ok) throw new AlertmanagerError(res.status, text.trim(), what);
    return (text ? JSON.parse(text) : undefined) as T;
  }

  private static query(f: ListFilter): string {
    const q = new URLSearchParams();
    for (const k of ['active', 'silenced', 'inhibited'] as const) if (f[k] !== undefined) q.set(k, String(f[k]));
    for (const m of f.filter ?? []) q.append('filter', m);
    const s = q.toString();
    return s ? `?${s}` : '';
  }

  /** Firing alerts, and resolved ones as `endsAt` ≤ now: Alertmanager keys them by their label set. */
  postAlerts(alerts: PostableAlert[]): Promise<void> {
    return this.call('POST', '/alerts', 'the alerts', alerts);
  }

  /** The alerts it holds that have not ended (resolved ones are not listed). */
  alerts(f: ListFilter = {}): Promise<GettableAlert[]> {
    return this.call('GET', `/alerts${AlertmanagerClient.query(f)}`, 'the alert query');
  }

  groups(f: ListFilter = {}): Promise<AlertGroup[]> {
    return this.call('GET', `/alerts/groups${AlertmanagerClient.query(f)}`, 'the group query');
  }

  async createSilence(s: { matchers: Matcher[]; startsAt: Date; endsAt: Date; createdBy: string; comment: string }): Promise<string> {
    const body = { ...s, startsAt: s.startsAt.toISOString(), endsAt: s.endsAt.toISOString() };
    return (await this.call<{ silenceID: string }>('POST', '/silences', 'the silence', body)).silenceID;
  }

  silences(): Promise<Silence[]> {
    return this.call('GET', '/silences', 'the silence query');
  }

  /** Expires it (Alertmanager keeps expired silences until its retention ends). */
  expireSilence(id: string): Promise<void> {
    return this.call('DELETE', `/silence/${encodeURIComponent(id)}`, `expiring silence ${id}`);
  }

  async ready(): Promise<boolean> {
    const res = await fetch(`${this.url}/-/ready`, { signal: AbortSignal.timeout(this.timeoutMs) });
    return res.ok;
  }
}
