import * as ort from 'onnxruntime-node';
import type { ModelCard } from './card.js';

export interface Prediction {
  label: string;
  score: number;
  probabilities: Record<string, number>;
}

interface Waiting {
  rows: Array<Record<string, number>>;
  resolve: (p: Prediction[]) => void;
  reject: (err: Error) => void;
}

/**
 * Concurrent requests share one onnxruntime `run`. A run costs tens of
 * microseconds whatever its size (tensor and output objects, the binding
 * call, a setImmediate hop), and several times that on a loaded replica whose
 * caches the HTTP work keeps cold, while a row of a small model costs well
 * under one; so one run per request was the largest cost of a prediction after
 * HTTP itself (bench/api.ts profiles it).
 *
 * The window is counted in turns of the event loop, not by a timer (Node's
 * timers cannot wait less than a millisecond): a batch goes to the model at
 * the end of the turn in which no new request joined it, after at most
 * `maxTurns` turns, or once it holds `maxRows` rows. A lone request therefore
 * waits one turn, an idle loop's few microseconds; under load each turn
 * gathers the requests whose bodies arrived in it.
 */
export class BatchedSession {
  private waiting: Waiting[] = [];
  private waitingRows = 0;
  /** Turns the current batch has waited, and how many requests it held at the end of the last one. */
  private turns = 0;
  private heldLastTurn = 0;
  private readonly width: number;
  private readonly classCount: bigint;

  constructor(
    private readonly session: ort.InferenceSession,
    private readonly card: ModelCard,
    private readonly positiveIndex: number,
    /** Rows per run at most; a request is never split across runs. */
    private readonly maxRows = 512,
    private readonly maxTurns = 3,
  ) {
    this.width = card.feature_names.length;
    this.classCount = BigInt(card.class_labels.length);
  }

  predict(rows: Array<Record<string, number>>): Promise<Prediction[]> {
    return new Promise((resolve, reject) => {
      if (this.waiting.length === 0) {
        setImmediate(this.flush);
        this.heldLastTurn = 1;
      }
      this.waiting.push({ rows, resolve, reject });
      this.waitingRows += rows.length;
    });
  }

  private readonly flush = () => {
    const joined = this.waiting.length > this.heldLastTurn;
    if (joined && ++this.turns < this.maxTurns && this.waitingRows < this.maxRows) {
      this.heldLastTurn = this.waiting.length;
      setImmediate(this.flush);
      return;
    }
    const waiting = this.waiting;
    this.waiting = [];
    this.waitingRows = 0;
    this.turns = 0;
    let start = 0;
    let rows = 0;
    waiting.forEach((w, i) => {
      if (rows > 0 && rows + w.rows.length > this.maxRows) {
        void this.run(waiting.slice(start, i), rows);
        start = i;
        rows = 0;
      }
      rows += w.rows.length;
    });
    void this.run(waiting.slice(start), rows);
  };

  private async run(batch: Waiting[], rowCount: number): Promise<void> {
    const { feature_names: names, input, class_labels: classes } = this.card;
    try {
      const data = input.dtype === 'float64' ? new Float64Array(rowCount * this.width) : new Float32Array(rowCount * this.width);
      let at = 0;
      for (const w of batch) {
        for (const row of w.rows) {
          for (const name of names) data[at++] = row[name]!;
        }
      }
      const out = await this.session.run({ [input.name]: new ort.Tensor(input.dtype, data, [rowCount, this.width]) });
      const probs = out.probabilities!.data as Float32Array;
      const labels = out.label!.data as BigInt64Array;
      // The prediction's log line is not checked again (EventLog.writePrevalidated): a model that
      // answers NaN or a class it does not have fails the requests here, as the check would have.
      if (!probs.every((p) => p >= 0 && p <= 1) || !labels.every((l) => l >= 0n && l < this.classCount)) {
        throw new Error(`model ${this.card.name} ${this.card.version} returned a probability outside [0, 1] or an unknown class`);
      }
      let row = 0;
      for (const w of batch) {
        w.resolve(
          w.rows.map(() => {
            const probabilities: Record<string, number> = {};
            for (let k = 0; k < classes.length; k++) probabilities[classes[k]!] = probs[row * classes.length + k]!;
            const p = { label: classes[Number(labels[row])]!, score: probs[row * classes.length + this.positiveIndex]!, probabilities };
            row++;
            return p;
          }),
        );
      }
    } catch (err) {
      for (const w of batch) w.reject(err as Error);
    }
  }
}
