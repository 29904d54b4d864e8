import { existsSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startReplicaProcess, type ReplicaProcess } from './support.js';

/** A renamed variable still works for one release, and the service says so once, on stderr. */
describe('a replica started with an old variable name', () => {
  let replica: ReplicaProcess | undefined;
  afterEach(async () => {
    replica?.child.kill('SIGTERM');
    await replica?.exited;
  });
  const about = (name: string) =>
    replica!
      .stderr()
      .split('\n')
      .filter((l) => l.includes(name));

  it('uses its value and warns once, naming the new variable', async () => {
    replica = await startReplicaProcess({ REPLICA_ID: 'replica-old-name' });
    expect((await fetch(`${replica.url}/healthz`)).headers.get('x-replica-id')).toBe('replica-old-name');
    expect(existsSync(path.join(replica.logDir, 'api-replica-old-name.ndjson'))).toBe(true);
    expect(about('REPLICA_ID')).toEqual(['warning: REPLICA_ID is deprecated: its value is used for this release; set MLMON_API_REPLICA_ID=replica-old-name instead']);
  });

  it('loses to the new one when both are set, and the warning says so', async () => {
    replica = await startReplicaProcess({ REPLICA_ID: 'replica-old-name', MLMON_API_REPLICA_ID: 'replica-new-name' });
    expect((await fetch(`${replica.url}/healthz`)).headers.get('x-replica-id')).toBe('replica-new-name');
    expect(about('REPLICA_ID')).toEqual(['warning: REPLICA_ID is deprecated and MLMON_API_REPLICA_ID is set too: MLMON_API_REPLICA_ID is used; remove REPLICA_ID']);
  });
});
