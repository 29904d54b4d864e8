import { z } from 'zod';
import { setting } from '@mlmon/runtime';

/** What the local Elasticsearch launcher (`npm run es:*`, `mlmon up`, the test run) reads besides the Elasticsearch settings. */
export const launcherConfigShape = {
  MLMON_ES_HOME: setting(z.string().min(1).optional(), {
    description:
      'Where the distribution is unpacked and each instance keeps its config, data and logs. As root the default is a service location, because Elasticsearch runs as a system user that must reach it.',
    shownDefault: '<repo>/.cache/elasticsearch; as root /var/lib/mlmon/elasticsearch',
  }),
  MLMON_ES_LOCAL_NAME: setting(z.string().regex(/^[a-z0-9][a-z0-9_-]*$/, 'must be lowercase letters, digits, "-" or "_"').default('dev'), {
    description:
      'The local cluster `mlmon up` and `npm run es:start` start: its node keeps its files under instances/<name>, or with `--es-nodes N` each node under instances/<name>-1 … <name>-N. Another name is another cluster, with data of its own.',
  }),
  ES_JAVA_HOME: setting(z.string().min(1).optional(), { description: 'The JDK (17+) Elasticsearch runs on; unset: JAVA_HOME, then the `java` on PATH.', ownedBy: 'Elasticsearch' }),
  JAVA_HOME: setting(z.string().min(1).optional(), { description: 'The JDK, when ES_JAVA_HOME is unset.', ownedBy: 'the JDK' }),
};
