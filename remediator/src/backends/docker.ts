import Docker from 'dockerode';
import { UnknownReplicaError, type Scaler } from './scaler.js';

const PROJECT = 'com.docker.compose.project';
const SERVICE = 'com.docker.compose.service';
const NUMBER = 'com.docker.compose.container-number';

/** DOCKER_HOST as the docker CLI reads it: unix:///path, tcp://host:port (plain HTTP), or unset for the default socket. */
export function dockerOptions(dockerHost: string | undefined): Docker.DockerOptions {
  if (!dockerHost) return { socketPath: '/var/run/docker.sock' };
  const url = new URL(dockerHost);
  if (url.protocol === 'unix:') return { socketPath: url.pathname };
  if (url.protocol === 'tcp:' || url.protocol === 'http:') return { host: url.hostname, port: Number(url.port || 2375), protocol: 'http' };
  throw new Error(`DOCKER_HOST ${dockerHost}: only unix:// and tcp:// are supported`);
}

/**
 * docker-compose: scales the compose service's containers through the Docker
 * Engine API, as `docker compose up --scale` does: a new replica is a copy of
 * the newest one (same image, environment, labels, networks with the service
 * alias, so nginx's resolver finds it), numbered after the highest; scaling in
 * stops and removes the highest-numbered ones. The Engine API has no "scale"
 * call of its own, and the compose CLI is not in the remediator's image, so
 * this is the one place that does by hand what compose does.
 */
export class DockerScaler implements Scaler {
  readonly target: string;
  private readonly docker: Docker;

  constructor(
    private readonly project: string,
    private readonly service: string,
    options: Docker.DockerOptions,
  ) {
    this.target = `compose/${project}/${service}`;
    this.docker = new Docker(options);
  }

  private async containers(): Promise<Docker.ContainerInfo[]> {
    const list = await this.docker.listContainers({ filters: { label: [`${PROJECT}=${this.project}`, `${SERVICE}=${this.service}`], status: ['running'] } });
    return list.sort((a, b) => Number(a.Labels[NUMBER] ?? 0) - Number(b.Labels[NUMBER] ?? 0));
  }

  async replicas(): Promise<number> {
    return (await this.containers()).length;
  }

  async scaleTo(count: number): Promise<number> {
    const running = await this.containers();
    if (running.length === 0) throw new Error(`no running container of ${this.target} to copy; start the stack with docker compose first`);
    for (let n = running.length; n < count; n++) await this.addFrom(running);
    for (const c of running.slice(count).reverse()) {
      const container = this.docker.getContainer(c.Id);
      // SIGTERM first: the replica drains its in-flight requests (its MLMON_API_SHUTDOWN_TIMEOUT is below this).
      await container.stop({ t: 20 });
      await container.remove();
    }
    return this.replicas();
  }

  private async addFrom(running: Docker.ContainerInfo[]): Promise<void> {
    const newest = running.at(-1)!;
    const template = await this.docker.getContainer(newest.Id).inspect();
    const number = Math.max(...running.map((c) => Number(c.Labels[NUMBER] ?? 0))) + 1;
    running.push({ ...newest, Labels: { ...newest.Labels, [NUMBER]: String(number) } });
    const networks = Object.fromEntries(Object.keys(template.NetworkSettings.Networks).map((name) => [name, { Aliases: [this.service] }]));
    const created = await this.docker.createContainer({
      name: `${this.project}-${this.service}-${number}`,
      Image: template.Config.Image,
      Env: template.Config.Env,
      Cmd: template.Config.Cmd,
      Labels: { ...template.Config.Labels, [NUMBER]: String(number) },
      // Replicas sit behind nginx: a copy must not try to publish the same host ports.
      HostConfig: { ...template.HostConfig, PortBindings: {} },
      NetworkingConfig: { EndpointsConfig: networks },
    });
    await created.start();
  }

  async restart(replica: string): Promise<void> {
    const running = await this.containers();
    // The replica id in the logs is the container's hostname (its id prefix) or its name.
    const match = running.find((c) => c.Id.startsWith(replica) || c.Names.some((n) => n.replace(/^\//, '') === replica));
    if (!match) throw new UnknownReplicaError(`no running container of ${this.target} is named ${replica}`);
    await this.docker.getContainer(match.Id).restart({ t: 10 });
  }
}
