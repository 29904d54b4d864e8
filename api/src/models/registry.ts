import { existsSync, readFileSync, readdirSync, unwatchFile, watchFile } from 'node:fs';
import { writeFileAtomic } from '@mlmon/runtime';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { z } from 'zod';
import { BatchedSession, type Prediction } from './batched-session.js';
import { modelCard, type ModelCard } from './card.js';
import { loadOodScorer, type OodScorer } from './ood.js';

export type { Prediction };

export interface LoadedModel {
  card: ModelCard;
  session: BatchedSession;
  /** Built once per model: requests are checked against the features of the model that serves them. */
  inputSchema: z.ZodObject<Record<string, z.ZodNumber>, z.core.$strict>;
  /** Scores each row's distance from the training rows; absent when the version has no reference.json. */
  ood?: OodScorer;
}

/** A version that was active before, newest last; `rolled_back` says it was left because it went bad. */
export interface PastActive {
  version: string;
  until: string;
  rolled_back: boolean;
}

export interface ServingState {
  active: string;
  canary: { version: string; weight: number } | null;
  /** A version that sees a copy of a `sample` share of the requests the active version answers, off the latency path. */
  shadow: { version: string; sample: number } | null;
  /** Previously active versions, so a rollback knows the previous good one (bounded by HISTORY_LENGTH). */
  history: PastActive[];
}

const HISTORY_LENGTH = 20;

const servingState = z.object({
  active: z.string().min(1),
  canary: z.object({ version: z.string().min(1), weight: z.number().min(0).max(100) }).nullable(),
  // State files written before shadows existed have none.
  shadow: z.object({ version: z.string().min(1), sample: z.number().min(0).max(1) }).nullable().default(null),
  // State files written before the history existed have none.
  history: z.array(z.object({ version: z.string().min(1), until: z.string(), rolled_back: z.boolean() })).default([]),
});

export type Role = 'active' | 'canary' | 'pinned';

async function loadVersion(dir: string): Promise<LoadedModel> {
  const card = modelCard.parse(JSON.parse(readFileSync(path.join(dir, 'model_card.json'), 'utf8')));
  // One thread per session: replicas share a few cores, and per-request parallelism would only contend.
  const session = await ort.InferenceSession.create(path.join(dir, 'model.onnx'), {
    intraOpNumThreads: 1,
    interOpNumThreads: 1,
  });
  // Compiled: it runs on every row of every request.
  const inputSchema = z.compile(z.strictObject(Object.fromEntries(card.feature_names.map((f) => [f, z.number()]))));
  const ood = loadOodScorer(dir, card.feature_names);
  return { card, session: new BatchedSession(session, card, card.class_labels.indexOf(card.positive_label)), inputSchema, ...(ood ? { ood } : {}) };
}

/**
 * The model versions this replica can serve, which one is active, and an
 * optional canary that takes a share of the traffic. With a state file the
 * choice is shared: every replica watches it, so a rollback made through one
 * replica reaches all of them and survives restarts.
 */
/** A version this replica has not loaded; the HTTP layer answers 404. */
export class UnknownModelVersionError extends Error {
  constructor(
    readonly version: string,
    readonly known: string[],
  ) {
    super(`model version "${version}" does not exist; known: ${known.join(', ')}`);
    this.name = 'UnknownModelVersionError';
  }
}

/** A rollback with no earlier good version to go back to; the HTTP layer answers 409. */
export class NoPreviousVersionError extends Error {
  constructor(readonly active: string) {
    super(`no earlier good version to roll back to from "${active}"`);
    this.name = 'NoPreviousVersionError';
  }
}

/** A rollback of a version that is no longer active (another rollback came first); the HTTP layer answers 409. */
export class NotActiveError extends Error {
  constructor(
    readonly version: string,
    readonly active: string,
  ) {
    super(`version "${version}" is not active ("${active}" is)`);
    this.name = 'NotActiveError';
  }
}

/** A canary or a shadow must differ from the active version; the HTTP layer answers 409. */
export class CanaryIsActiveError extends Error {
  constructor(readonly version: string) {
    super(`version "${version}" is already the active one`);
    this.name = 'CanaryIsActiveError';
  }
}

/** A promotion of a version that is no longer the shadow (another promotion or a change came first); 409. */
export class NotShadowError extends Error {
  constructor(
    readonly version: string,
    readonly shadow: string | undefined,
  ) {
    super(`version "${version}" is not the shadow (${shadow === undefined ? 'there is none' : `"${shadow}" is`})`);
    this.name = 'NotShadowError';
  }
}

/** A promotion while another canary is serving: it is left to finish its own evaluation; 409. */
export class CanaryPresentError extends Error {
  constructor(readonly canary: string) {
    super(`canary "${canary}" is serving; remove it before promoting the shadow`);
    this.name = 'CanaryPresentError';
  }
}

export class ModelRegistry {
  private constructor(
    private readonly models: Map<string, LoadedModel>,
    private state: ServingState,
    private readonly stateFile: string | undefined,
    private readonly retrainedDir: string | undefined,
    private readonly onLoaded: (model: LoadedModel) => void,
  ) {}

  static async load(opts: {
    dir: string;
    active: string;
    stateFile?: string;
    retrainedDir?: string | undefined;
    /** Called once for each version as it is loaded, at start or later (a retrained version). */
    onLoaded?: (model: LoadedModel) => void;
  }): Promise<ModelRegistry> {
    const onLoaded = opts.onLoaded ?? (() => {});
    const models = new Map<string, LoadedModel>();
    for (const dir of [opts.dir, opts.retrainedDir]) {
      if (dir === undefined || !existsSync(dir)) continue;
      const versions = readdirSync(dir, { withFileTypes: true })
        .filter((d) => d.isDirectory() && existsSync(path.join(dir, d.name, 'model_card.json')))
        .map((d) => d.name)
        .sort();
      for (const v of versions) {
        if (models.has(v)) continue;
        const model = await loadVersion(path.join(dir, v));
        models.set(v, model);
        onLoaded(model);
      }
    }
    if (models.size === 0) throw new Error(`no model versions under ${opts.dir}`);
    const registry = new ModelRegistry(models, { active: opts.active, canary: null, shadow: null, history: [] }, opts.stateFile, opts.retrainedDir, onLoaded);
    if (opts.stateFile && existsSync(opts.stateFile)) {
      registry.state = registry.readStateFile(opts.stateFile);
      await registry.loadNamed(registry.state);
    }
    registry.check(registry.state);
    if (opts.stateFile) watchFile(opts.stateFile, { interval: 500, persistent: false }, registry.onStateFileChange);
    return registry;
  }

  get modelName(): string {
    return this.get(this.state.active).card.name;
  }

  versions(): LoadedModel[] {
    return [...this.models.values()];
  }

  serving(): ServingState {
    return structuredClone(this.state);
  }

  /** The model for one request: a pinned version, else the canary for its share of requests, else the active one. */
  choose(pinned?: string): { model: LoadedModel; role: Role } {
    if (pinned !== undefined) {
      return { model: this.get(pinned), role: pinned === this.state.active ? 'active' : 'pinned' };
    }
    const { canary } = this.state;
    if (canary && Math.random() * 100 < canary.weight) return { model: this.get(canary.version), role: 'canary' };
    return { model: this.get(this.state.active), role: 'active' };
  }

  /** The shadow and its sample share, if one is set; read on every request, so without the copy serving() makes. */
  shadow(): { model: LoadedModel; sample: number } | undefined {
    const s = this.state.shadow;
    return s ? { model: this.get(s.version), sample: s.sample } : undefined;
  }

  get(version: string): LoadedModel {
    const model = this.models.get(version);
    if (!model) {
      throw new UnknownModelVersionError(version, [...this.models.keys()]);
    }
    return model;
  }

  /**
   * Loads versions the retrain job wrote after this replica started, so that
   * registering one (through any replica, or the shared state file) makes it
   * servable everywhere. Only plain directory names: a version is never a path.
   */
  private async loadNamed(state: ServingState): Promise<void> {
    for (const version of [state.active, state.canary?.version, state.shadow?.version]) {
      if (version === undefined || this.models.has(version) || !this.retrainedDir || !/^[A-Za-z0-9_.-]+$/.test(version) || version.startsWith('.')) continue;
      const dir = path.join(this.retrainedDir, version);
      if (!existsSync(path.join(dir, 'model_card.json'))) continue;
      const model = await loadVersion(dir);
      this.models.set(version, model);
      this.onLoaded(model);
    }
  }

  async setActive(version: string, opts: { rolledBack?: boolean } = {}): Promise<ServingState> {
    await this.loadNamed({ ...this.state, active: version });
    this.get(version);
    if (version === this.state.active) return this.serving();
    const canary = this.state.canary?.version === version ? null : this.state.canary;
    const shadow = this.state.shadow?.version === version ? null : this.state.shadow;
    const left: PastActive = { version: this.state.active, until: new Date().toISOString(), rolled_back: opts.rolledBack ?? false };
    return this.update({ active: version, canary, shadow, history: [...this.state.history, left].slice(-HISTORY_LENGTH) });
  }

  /** The most recent earlier active version that was not itself rolled back, and that this replica can serve. */
  previousGood(): string | undefined {
    const bad = new Set(this.state.history.filter((h) => h.rolled_back).map((h) => h.version));
    return this.state.history.findLast((h) => h.version !== this.state.active && !bad.has(h.version) && this.models.has(h.version))?.version;
  }

  /**
   * Replaces the active version by the previous good one. `from` names the
   * version the caller saw misbehave: if another rollback already replaced it,
   * this one refuses rather than stepping back a second time.
   */
  async rollback(from: string): Promise<ServingState> {
    if (from !== this.state.active) throw new NotActiveError(from, this.state.active);
    const previous = this.previousGood();
    if (previous === undefined) throw new NoPreviousVersionError(from);
    return this.setActive(previous, { rolledBack: true });
  }

  async setCanary(version: string, weight: number): Promise<ServingState> {
    await this.loadNamed({ ...this.state, canary: { version, weight } });
    this.get(version);
    if (version === this.state.active) {
      throw new CanaryIsActiveError(version);
    }
    return this.update({ ...this.state, canary: weight > 0 ? { version, weight } : null });
  }

  /** Sets the shadow; `sample` 0 removes it. */
  async setShadow(version: string, sample: number): Promise<ServingState> {
    await this.loadNamed({ ...this.state, shadow: { version, sample } });
    this.get(version);
    if (version === this.state.active) throw new CanaryIsActiveError(version);
    return this.update({ ...this.state, shadow: sample > 0 ? { version, sample } : null });
  }

  async removeShadow(): Promise<ServingState> {
    return this.update({ ...this.state, shadow: null });
  }

  /**
   * The shadow becomes the canary at `weight`%, in one change of the state, so that no replica ever serves
   * it as both. `version` names the shadow the caller judged: if it is no longer the shadow, this refuses
   * rather than promote another; a canary already serving is left to finish its own evaluation.
   */
  async promoteShadow(version: string, weight: number): Promise<ServingState> {
    if (this.state.shadow?.version !== version) throw new NotShadowError(version, this.state.shadow?.version);
    if (this.state.canary) throw new CanaryPresentError(this.state.canary.version);
    return this.update({ ...this.state, canary: { version, weight }, shadow: null });
  }

  predict(model: LoadedModel, rows: Array<Record<string, number>>): Promise<Prediction[]> {
    return model.session.predict(rows);
  }

  // Its own listener, removed alone on close: several registries in one process (tests) may watch one file.
  private readonly onStateFileChange = () => this.reloadStateFile();

  close(): void {
    if (this.stateFile) unwatchFile(this.stateFile, this.onStateFileChange);
  }

  private check(state: ServingState): void {
    this.get(state.active);
    if (state.canary) this.get(state.canary.version);
    if (state.shadow) this.get(state.shadow.version);
  }

  private async update(next: ServingState): Promise<ServingState> {
    this.check(next);
    if (this.stateFile) {
      // Other replicas watch this file: they must see the old state or the new, never half.
      // Written before the state is taken: our own watcher may reload the old file while the
      // write is under way, and must not undo the change afterwards.
      await writeFileAtomic(this.stateFile, JSON.stringify(next, null, 2));
    }
    this.state = next;
    return this.serving();
  }

  private readStateFile(file: string): ServingState {
    return servingState.parse(JSON.parse(readFileSync(file, 'utf8')));
  }

  private reloadStateFile(): void {
    let next: ServingState;
    try {
      next = this.readStateFile(this.stateFile!);
    } catch {
      // A file mid-edit by hand: keep serving what we have.
      return;
    }
    this.loadNamed(next)
      .then(() => {
        this.check(next);
        this.state = next;
      })
      // A state naming a version this replica lacks or cannot load: keep serving what we have.
      .catch(() => {});
  }
}
