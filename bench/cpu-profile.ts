import { readFileSync } from 'node:fs';

/**
 * Splits a V8 CPU profile (`node --cpu-prof`) of a replica under load into the
 * stages of a prediction. No profiler library reports time by caller-defined
 * stage, so this walks the profile's call tree itself: every sample is charged
 * to the innermost frame on its stack that anchors a stage, so a JSON.parse
 * under the body reader counts as parsing, and a zod check under the event log
 * counts as logging, not as request validation.
 */

export const STAGES = ['parsing', 'validation', 'inference', 'ids', 'logging', 'answer', 'http and framework', 'gc'] as const;
export type Stage = (typeof STAGES)[number];

interface CallFrame {
  functionName: string;
  url: string;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const anchors: Array<[Stage, (f: CallFrame) => boolean]> = [
  // The replica's own functions first: they decide the stage of everything they call.
  ['logging', (f) => f.url.includes('/runtime/dist/event-log.js')],
  ['inference', (f) => f.url.includes('/onnxruntime-') || (f.functionName === 'predict' && f.url.endsWith('/models/registry.js'))],
  ['validation', (f) => (f.functionName === 'checkRow' || f.functionName === 'parseRequest') && f.url.endsWith('/routes/predict.js')],
  ['ids', (f) => f.url.includes('/uuid/') || f.functionName === 'randomUUID'],
  ['parsing', (f) => f.functionName === 'readJson' || (f.functionName === 'json' && f.url.endsWith('/hono/dist/request.js'))],
  ['answer', (f) => (f.functionName === 'json' && f.url.endsWith('/hono/dist/context.js')) || /^responseVia/.test(f.functionName)],
  ['gc', (f) => f.functionName === '(garbage collector)'],
];

export interface StageSplit {
  /** Main-thread CPU microseconds per stage over the whole profile. */
  micros: Record<Stage, number>;
  /** Main-thread CPU microseconds, idle excluded. */
  busy: number;
}

export function stageSplit(file: string): StageSplit {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  // A node's stage is fixed by its stack, so it is worked out once per node, not per sample.
  const stageOf = new Map<number, Stage | 'idle'>();
  const classify = (id: number): Stage | 'idle' => {
    let stage = stageOf.get(id);
    if (stage) return stage;
    const frame = byId.get(id)!.callFrame;
    if (frame.functionName === '(idle)') stage = 'idle';
    else stage = anchors.find(([, match]) => match(frame))?.[0] ?? (parent.has(id) ? classify(parent.get(id)!) : 'http and framework');
    stageOf.set(id, stage);
    return stage;
  };
  const micros = Object.fromEntries(STAGES.map((s) => [s, 0])) as Record<Stage, number>;
  let busy = 0;
  profile.samples.forEach((id, i) => {
    const stage = classify(id);
    if (stage === 'idle') return;
    const dt = profile.timeDeltas[i] ?? 0;
    micros[stage] += dt;
    busy += dt;
  });
  return { micros, busy };
}
