import { EventValidationError, documentId, indexForEvent, parseEcsLine } from '@mlmon/contract';

export type Route =
  | { ok: true; index: string; id: string; timestamp: number }
  | { ok: false; reason: string };

/**
 * Decides where one log line goes: the daily index of its dataset's family and
 * a deterministic `_id`, or the dead-letter file with the reason.
 *
 * The `_id` makes a line sent twice (a retry, a replay after a crash) a 409
 * instead of a second document. A prediction's own id serves, as everywhere
 * else in mlmon. Other lines use `<stream>-<offset>`: the stream fingerprint
 * names the file's content, so the id survives renames and restarts, and a
 * document can be traced back to its line with `tail -c +<offset+1>`.
 */
export function routeLine(line: string, opts: { prefix: string; stream: string; offset: number }): Route {
  let event;
  try {
    event = parseEcsLine(line);
  } catch (err) {
    if (err instanceof EventValidationError) return { ok: false, reason: err.message };
    throw err;
  }
  return {
    ok: true,
    index: indexForEvent(opts.prefix, event),
    id: documentId(event) ?? `${opts.stream}-${opts.offset}`,
    timestamp: Date.parse(event['@timestamp']),
  };
}
