import { readFileSync } from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from '../stack/paths.js';

export interface HoldoutRow {
  features: Record<string, number>;
  label: string;
  /** Each committed version's answer to this row: its label and its probabilities in `class_labels` order. */
  expected?: Record<string, { label: string; probabilities: number[] }>;
}

export interface Holdout {
  class_labels: string[];
  positive_label: string;
  rows: HoldoutRow[];
}

const artifacts = path.join(REPO_ROOT, 'model', 'artifacts');

export function loadHoldoutFile(): Holdout {
  return JSON.parse(readFileSync(path.join(artifacts, 'holdout.json'), 'utf8')) as Holdout;
}

/** The traffic the simulator replays: held-out rows the model never trained on, with their true labels. */
export function loadHoldout(): HoldoutRow[] {
  return loadHoldoutFile().rows;
}

/** Training standard deviation per feature, the unit a drift shift is expressed in. */
export function featureStd(): Record<string, number> {
  const profile = JSON.parse(readFileSync(path.join(artifacts, 'reference_profile.json'), 'utf8')) as {
    features: Record<string, { std: number }>;
  };
  return Object.fromEntries(Object.entries(profile.features).map(([name, f]) => [name, f.std]));
}
