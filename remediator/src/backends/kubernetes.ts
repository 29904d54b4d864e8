import { AppsV1Api, KubeConfig, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { UnsupportedError, type Scaler } from './scaler.js';

/**
 * Kubernetes: reads and patches the api Deployment's `scale` subresource with
 * the official client, which is all k8s/remediator-rbac.yaml allows. The
 * Deployment's controller does the rest; an HPA on the same Deployment would
 * fight these changes, so run one or the other (see the README).
 */
export class KubernetesScaler implements Scaler {
  readonly target: string;
  private readonly apps: AppsV1Api;

  constructor(
    private readonly namespace: string,
    private readonly deployment: string,
    kubeConfigFile?: string,
  ) {
    this.target = `deployment/${namespace}/${deployment}`;
    const kc = new KubeConfig();
    // Without a file: ~/.kube/config, or the pod's service account when in a cluster.
    if (kubeConfigFile) kc.loadFromFile(kubeConfigFile);
    else kc.loadFromDefault();
    this.apps = kc.makeApiClient(AppsV1Api);
  }

  async replicas(): Promise<number> {
    const scale = await this.apps.readNamespacedDeploymentScale({ name: this.deployment, namespace: this.namespace });
    return scale.spec?.replicas ?? 0;
  }

  async scaleTo(count: number): Promise<number> {
    const scale = await this.apps.patchNamespacedDeploymentScale(
      { name: this.deployment, namespace: this.namespace, body: { spec: { replicas: count } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    return scale.spec?.replicas ?? count;
  }

  async restart(): Promise<void> {
    throw new UnsupportedError('restarting one pod is the liveness probe\'s job on Kubernetes; the remediator may only scale (k8s/remediator-rbac.yaml)');
  }
}
