/** Where Kibana is and how to authenticate: `MLMON_KIBANA_URL` with `MLMON_KIBANA_USERNAME`/`MLMON_KIBANA_PASSWORD` or `MLMON_KIBANA_API_KEY`. */
export interface KibanaTarget {
  url: string;
  username?: string;
  password?: string;
  apiKey?: string;
  /** A Kibana space other than the default one. */
  space?: string;
}

export interface ImportResult {
  successCount: number;
}

/**
 * POST /api/saved_objects/_import?overwrite=true with the NDJSON as a
 * multipart file, as Kibana's API requires. Overwrite makes a second import
 * replace the objects by id, so importing again changes nothing. A refused
 * object fails the whole call, naming the object and Kibana's reason.
 */
export async function importSavedObjects(target: KibanaTarget, ndjson: string): Promise<ImportResult> {
  const base = target.url.replace(/\/+$/, '') + (target.space ? `/s/${encodeURIComponent(target.space)}` : '');
  const form = new FormData();
  form.append('file', new Blob([ndjson], { type: 'application/ndjson' }), 'mlmon.ndjson');
  const headers: Record<string, string> = { 'kbn-xsrf': 'mlmon' };
  if (target.apiKey) headers.authorization = `ApiKey ${target.apiKey}`;
  else if (target.username) headers.authorization = `Basic ${Buffer.from(`${target.username}:${target.password ?? ''}`).toString('base64')}`;
  const res = await fetch(`${base}/api/saved_objects/_import?overwrite=true`, { method: 'POST', headers, body: form });
  const text = await res.text();
  if (!res.ok) throw new Error(`Kibana refused the import: HTTP ${res.status} ${text.slice(0, 500)}`);
  const body = JSON.parse(text) as { success: boolean; successCount: number; errors?: Array<{ id: string; type: string; error: { type: string; message?: string } }> };
  if (!body.success) {
    const detail = (body.errors ?? []).map((e) => `${e.type} ${e.id}: ${e.error.message ?? e.error.type}`).join('; ');
    throw new Error(`Kibana imported ${body.successCount} objects and refused others: ${detail}`);
  }
  return { successCount: body.successCount };
}
