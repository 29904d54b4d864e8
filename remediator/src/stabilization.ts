/**
 * Scale-in stabilization as Kubernetes' HorizontalPodAutoscaler does it
 * (https://kubernetes.io/docs/tasks/run-application/horizontal-pod-autoscale/#stabilization-window,
 * `stabilizeRecommendationWithBehaviors` in pkg/controller/podautoscaler/horizontal.go):
 * every recommendation (a desired replica count) is remembered with its
 * time, and a scale-in goes only down to the highest recommendation of the
 * last window (`--horizontal-pod-autoscaler-downscale-stabilization`, 5m by
 * default). Scale-out is not stabilized (HPA's scale-up window is 0 s).
 *
 * "No scale-in within the window after a scale-out" follows from this rather
 * than from a timer: the scale-out to N was a recommendation of N, which stays
 * in the window; and a high recommendation that moved nothing (capped at the
 * maximum, refused by a cooldown) holds the count up just the same, which a
 * timer since the last scale event would not.
 */
export interface Recommendation {
  at: string;
  target: string;
  desired: number;
}

/**
 * The replica count a scale-in may go to now: the highest of `desired` and of
 * the recommendations for `target` made within `windowMs` before `now`.
 * Equal to or above `current` means: stay.
 */
export function stabilizedScaleIn(opts: { current: number; desired: number; target: string; history: readonly Recommendation[]; now: number; windowMs: number }): {
  replicas: number;
  /** The recommendation that held the count up (the newest of the highest), when one did. */
  heldBy?: Recommendation;
} {
  let replicas = opts.desired;
  let heldBy: Recommendation | undefined;
  for (const r of opts.history) {
    // HPA keeps a recommendation while it is newer than now − window (a strict `After`).
    if (r.target !== opts.target || Date.parse(r.at) <= opts.now - opts.windowMs) continue;
    // The newest of equal highest ones is named: it says when the hold ends.
    if (r.desired > opts.desired && r.desired >= replicas) {
      replicas = r.desired;
      heldBy = r;
    }
  }
  return heldBy ? { replicas, heldBy } : { replicas };
}
