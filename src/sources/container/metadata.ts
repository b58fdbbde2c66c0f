import { readFileSync, realpathSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { SourceInfo } from '../../core/record.ts';

export type ContainerFields = Pick<SourceInfo, 'container_id' | 'container_name' | 'image' | 'namespace' | 'pod' | 'pod_uid' | 'container'>;

// kubelet: /var/log/pods/<namespace>_<pod>_<uid>/<container>/<restart>.log (plus rotated suffixes)
const POD_DIR = /(?:^|\/)([a-z0-9][a-z0-9.-]*)_([a-z0-9][a-z0-9.-]*)_([0-9a-fA-F-]+)\/([^/]+)\/[^/]+$/;
// kubelet symlinks: /var/log/containers/<pod>_<namespace>_<container>-<64 hex id>.log
const CONTAINERS_LINK = /(?:^|\/)([a-z0-9][a-z0-9.-]*)_([a-z0-9][a-z0-9.-]*)_(.+)-([0-9a-f]{64})\.log$/;
// Docker json-file: /var/lib/docker/containers/<id>/<id>-json.log(.N)
const DOCKER_FILE = /(?:^|\/)([0-9a-f]{64})\/([0-9a-f]{64})-json\.log(?:\.\d+)?$/;

/** What Kubernetes encodes in a log file's path (pod directory or /var/log/containers link name). */
export function kubernetesFromPath(path: string): ContainerFields {
  let m = POD_DIR.exec(path);
  if (m) return { namespace: m[1], pod: m[2], pod_uid: m[3], container: m[4] };
  m = CONTAINERS_LINK.exec(path);
  if (m) return { pod: m[1], namespace: m[2], container: m[3], container_id: m[4] };
  return {};
}

interface DockerConfigV2 {
  Name?: string;
  Config?: { Image?: string; Labels?: Record<string, string> | null };
}

/**
 * Docker metadata of a json-file log: the container id from the path, name and image from the
 * container's config.v2.json beside it when readable (often root-only; then just the id), and
 * the pod fields from the io.kubernetes.* labels dockershim put there.
 */
export function dockerFromPath(path: string): ContainerFields {
  const real = realOrSelf(path);
  const inReal = DOCKER_FILE.exec(real);
  const m = inReal ?? DOCKER_FILE.exec(path);
  if (!m) return {};
  const out: ContainerFields = { container_id: m[1] };
  let cfg: DockerConfigV2;
  try {
    cfg = JSON.parse(readFileSync(join(dirname(inReal ? real : path), 'config.v2.json'), 'utf8')) as DockerConfigV2;
  } catch {
    return out;
  }
  if (typeof cfg.Name === 'string') out.container_name = cfg.Name.replace(/^\//, '');
  if (typeof cfg.Config?.Image === 'string') out.image = cfg.Config.Image;
  const labels = cfg.Config?.Labels;
  if (labels && typeof labels === 'object') {
    if (labels['io.kubernetes.pod.namespace']) out.namespace = labels['io.kubernetes.pod.namespace'];
    if (labels['io.kubernetes.pod.name']) out.pod = labels['io.kubernetes.pod.name'];
    if (labels['io.kubernetes.pod.uid']) out.pod_uid = labels['io.kubernetes.pod.uid'];
    if (labels['io.kubernetes.container.name']) out.container = labels['io.kubernetes.container.name'];
  }
  return out;
}

/** Container and pod fields for a file of a `docker` or `cri` source (path first, then runtime files). */
export function containerFields(type: 'docker' | 'cri', path: string): ContainerFields {
  const fromPath = kubernetesFromPath(path);
  if (type === 'cri') {
    // /var/log/containers/<link> resolves to the pod directory; take what either name says.
    const real = realOrSelf(path);
    return real === path ? fromPath : { ...kubernetesFromPath(real), ...fromPath };
  }
  return { ...kubernetesFromPath(realOrSelf(path)), ...dockerFromPath(path), ...fromPath };
}

function realOrSelf(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return path;
  }
}
