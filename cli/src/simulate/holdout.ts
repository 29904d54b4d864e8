import { readFileSync } from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from '../stack/paths.js';

export interface HoldoutRow {
  features: Record<string, number>;
  label: string;
}

const artifacts = path.join(REPO_ROOT, 'model', 'artifacts');

/** The traffic the simulator replays: held-out rows the model never trained on, with their true labels. */
export function loadHoldout(): HoldoutRow[] {
  return (JSON.parse(readFileSync(path.join(artifacts, 'holdout.json'), 'utf8')) as { rows: HoldoutRow[] }).rows;
}

/** Training standard deviation per feature, the unit a drift shift is expressed in. */
export function featureStd(): Record<string, number> {
  const profile = JSON.parse(readFileSync(path.join(artifacts, 'reference_profile.json'), 'utf8')) as {
    features: Record<string, { std: number }>;
  };
  return Object.fromEntries(Object.entries(profile.features).map(([name, f]) => [name, f.std]));
}
