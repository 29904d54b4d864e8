/**
 * What the remediator asks of the engine that runs the api replicas. Each
 * backend only asks that engine (the local supervisor, Kubernetes, Docker) to
 * scale or restart; none re-implements it.
 */
export interface Scaler {
  /** Names the scaled thing in audit events, e.g. `deployment/mlmon/mlmon-api`. */
  readonly target: string;
  replicas(): Promise<number>;
  /** Sets the replica count and returns the count the engine reports afterwards. */
  scaleTo(count: number): Promise<number>;
  /** Restarts one replica by the id its log lines carry (service.node.name). */
  restart(replica: string): Promise<void>;
}

/** The engine cannot do this (e.g. restarting one pod is the kubelet's liveness probe's job); the decision is `refused`. */
export class UnsupportedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UnsupportedError';
  }
}

/** The engine does not know the replica named by the alert; the decision is `refused`. */
export class UnknownReplicaError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UnknownReplicaError';
  }
}
