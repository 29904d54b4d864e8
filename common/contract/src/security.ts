import type { Client, estypes } from '@elastic/elasticsearch';
import { familyPattern, rulesIndexPattern } from './indices.js';

type RoleDescriptor = Pick<estypes.SecurityRoleDescriptor, 'cluster' | 'indices'>;

/**
 * The least privilege each mlmon service needs, in one place: written to the
 * file realm's roles.yml on the local cluster (the security tests) and put
 * through the security API by docker-compose's setup job. Services that only
 * write log lines (replicas) need no cluster access at all: their lines reach
 * Elasticsearch through the shipper. The remediator's too, except that its
 * retrain job reads labeled data (`retrain`).
 */
export function serviceRoles(prefix: string): Record<string, RoleDescriptor> {
  const all = `${prefix}-*`;
  return {
    // Appends documents, never changes or deletes one (create_doc refuses an overwrite), and
    // creates the next daily index through the templates it cannot change itself. `monitor`: the
    // cluster's health in its status line (read-only cluster information).
    [`${prefix}_shipper`]: { cluster: ['monitor'], indices: [{ names: [all], privileges: ['create_doc', 'auto_configure'] }] },
    // Reads every family, writes only metrics and labeled (its join of each feedback to its prediction,
    // rewritten when a later feedback wins: `index` with an external version, which create_doc cannot do).
    [`${prefix}_analyzer`]: {
      cluster: [],
      indices: [
        { names: [all], privileges: ['read', 'view_index_metadata'] },
        { names: [familyPattern(prefix, 'metrics'), familyPattern(prefix, 'labeled')], privileges: ['create_doc', 'index', 'auto_configure'] },
      ],
    },
    // Reads what rules query; keeps its execution history and state in indices of its own.
    [`${prefix}_rules`]: {
      cluster: ['monitor'],
      indices: [
        { names: [all], privileges: ['read', 'view_index_metadata'] },
        { names: [rulesIndexPattern(prefix)], privileges: ['read', 'index', 'create_doc', 'create_index'] },
      ],
    },
    // The remediator's retrain job: the analyzer's labeled documents and the features of their predictions, read only.
    [`${prefix}_retrain`]: {
      cluster: [],
      indices: [{ names: [familyPattern(prefix, 'labeled'), familyPattern(prefix, 'predictions')], privileges: ['read'] }],
    },
    // Troubleshooting from the CLI and dashboards: read only.
    [`${prefix}_reader`]: { cluster: ['monitor'], indices: [{ names: [all], privileges: ['read', 'view_index_metadata'] }] },
    // The setup job: templates, lifecycle policies, watches; no document access.
    [`${prefix}_setup`]: {
      cluster: ['manage_index_templates', 'manage_ilm', 'manage_watcher', 'monitor'],
      indices: [{ names: [all], privileges: ['manage', 'delete_index'] }],
    },
  };
}

/** The user each service runs as: `mlmon-shipper` holds the role `mlmon_shipper`. */
export const serviceUserName = (prefix: string, service: string) => `${prefix}-${service}`;

/**
 * docker-compose's setup job, on a cluster with the native realm: puts every
 * role of serviceRoles, and a user for each service whose password is given
 * (one password variable per service in .env), and sets the password Kibana
 * connects with. Idempotent: roles and users are put, not created.
 */
export async function setupSecurity(
  client: Client,
  opts: { prefix: string; passwords: Partial<Record<string, string>>; kibanaSystemPassword?: string },
): Promise<{ roles: string[]; users: string[] }> {
  const roles = serviceRoles(opts.prefix);
  for (const [name, role] of Object.entries(roles)) await client.security.putRole({ name, ...role });
  const users: string[] = [];
  for (const role of Object.keys(roles)) {
    const service = role.slice(opts.prefix.length + 1);
    const password = opts.passwords[service];
    if (!password) continue;
    const username = serviceUserName(opts.prefix, service);
    await client.security.putUser({ username, password, roles: [role], full_name: `mlmon ${service}` });
    users.push(username);
  }
  if (opts.kibanaSystemPassword) await client.security.changePassword({ username: 'kibana_system', password: opts.kibanaSystemPassword });
  return { roles: Object.keys(roles), users };
}
