import t, { type Test } from 'tap';
import { readFileSync, writeFileSync } from 'node:fs';
import { join, posix } from 'node:path';
import picomatch from 'picomatch';
import { parseAllDocuments } from 'yaml';
import { parseConfig } from '../../src/config/load.ts';
import type { FileSourceConfig } from '../../src/sources/config.ts';
import { ROOT, runCli, tempDir } from '../support/daemon.ts';

// No cluster runs here: the manifests are parsed and cross-checked the way the kubelet and
// logship would resolve them (volume names, mounts, probe ports, env the config needs), and the
// embedded logship configs go through the real `logship validate`.

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Obj = Record<string, any>;

const DIR = join(ROOT, 'examples', 'kubernetes');
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };

function load(file: string): Obj[] {
  const docs = parseAllDocuments(readFileSync(join(DIR, file), 'utf8'));
  for (const d of docs) if (d.errors.length > 0) throw new Error(`${file}: ${d.errors.map((e) => e.message).join('; ')}`);
  return docs.map((d) => d.toJS() as Obj).filter((d) => d !== null);
}

/** Kubernetes memory quantity → bytes (the suffixes the examples use). */
function quantity(q: string): number {
  const m = /^(\d+(?:\.\d+)?)(Ki|Mi|Gi|K|M|G)?$/.exec(q);
  if (!m) throw new Error(`unsupported quantity ${q}`);
  return Number(m[1]) * ({ Ki: 1024, Mi: 1024 ** 2, Gi: 1024 ** 3, K: 1e3, M: 1e6, G: 1e9 }[m[2] ?? ''] ?? 1);
}

interface Resolved {
  container: Obj;
  pod: Obj;
  configText: string;
  configPath: string;
  env: Record<string, string>;
  /** mountPath → { volume, readOnly } */
  mounts: Map<string, { volume: Obj; readOnly: boolean }>;
}

/** The logship container of a pod template, with its config resolved from the ConfigMap mount. */
function resolveLogship(t: Test, docs: Obj[], workload: Obj): Resolved {
  const pod = workload.spec.template.spec;
  const all = [...(pod.initContainers ?? []), ...pod.containers] as Obj[];
  const container = all.find((c) => c.name === 'logship')!;
  t.ok(container, 'a container named logship');
  t.equal(container.image, `registry.example.com/logship/logship:${pkg.version}`, 'image tag is the package version');
  t.equal(container.command, undefined, "no command override: the image's ENTRYPOINT (node with logship's V8 flags) runs");
  t.equal(container.args[0], 'run');
  const configPath = container.args[container.args.indexOf('--config') + 1] as string;
  t.ok(configPath, 'run --config FILE');

  const mounts = new Map<string, { volume: Obj; readOnly: boolean }>();
  for (const m of container.volumeMounts as Obj[]) {
    const volume = (pod.volumes as Obj[]).find((v) => v.name === m.name);
    t.ok(volume, `volumeMount ${m.name} has a volume`);
    mounts.set(m.mountPath, { volume: volume!, readOnly: m.readOnly === true });
  }
  const cfgMount = mounts.get(posix.dirname(configPath))!;
  t.ok(cfgMount?.volume.configMap, `${posix.dirname(configPath)} is a ConfigMap mount`);
  const cm = docs.find((d) => d.kind === 'ConfigMap' && d.metadata.name === cfgMount.volume.configMap.name);
  t.ok(cm, `ConfigMap ${cfgMount.volume.configMap.name} is in the same file`);
  t.equal(cm!.metadata.namespace, workload.metadata.namespace, 'ConfigMap in the workload namespace');
  const configText = cm!.data[posix.basename(configPath)] as string;
  t.type(configText, 'string', `ConfigMap key ${posix.basename(configPath)}`);

  // The env the config's ${VAR}s see: literal values, and stand-ins for the downward API.
  const env: Record<string, string> = {};
  for (const e of container.env as Obj[]) env[e.name] = e.value ?? (e.valueFrom?.fieldRef ? `fieldref-${String(e.valueFrom.fieldRef.fieldPath).replace(/\W/g, '-')}` : '');
  for (const m of configText.matchAll(/(?<!\$)\$\{(\w+)(:-[^}]*)?\}/g)) {
    if (!m[2]) t.ok(m[1] in env, `\${${m[1]}} used by the config is set in the container env (logship refuses unset variables)`);
  }
  return { container, pod, configText, configPath, env, mounts };
}

/** Probes, ports, metrics annotations, resources: what every logship container needs. */
function checkRuntime(t: Test, workload: Obj, r: Resolved): void {
  const cfg = parseConfig(r.configText, 'configmap', r.env);
  const port = Number(cfg.server.listen.split(':').pop());
  t.equal(cfg.server.listen.split(':')[0], '0.0.0.0', 'listens on the pod IP, not loopback');
  const named = (r.container.ports as Obj[]).find((p) => p.containerPort === port);
  t.ok(named, `containerPort ${port} matches server.listen`);
  const probePort = (p: Obj) => (typeof p.httpGet.port === 'string' ? (r.container.ports as Obj[]).find((x) => x.name === p.httpGet.port)?.containerPort : p.httpGet.port);
  t.equal(r.container.livenessProbe.httpGet.path, '/healthz');
  t.equal(probePort(r.container.livenessProbe), port);
  t.equal(r.container.readinessProbe.httpGet.path, '/ready');
  t.equal(probePort(r.container.readinessProbe), port);

  const ann = workload.spec.template.metadata.annotations as Obj;
  t.equal(ann['prometheus.io/scrape'], 'true');
  t.equal(ann['prometheus.io/port'], String(port));
  t.equal(ann['prometheus.io/path'], '/metrics');

  const res = r.container.resources as Obj;
  for (const k of ['cpu', 'memory']) {
    t.ok(res.requests?.[k], `requests.${k}`);
    t.ok(res.limits?.[k], `limits.${k}`);
  }
  t.ok(quantity(res.limits.memory) >= 4 * cfg.memory.max_buffer_bytes, 'memory limit leaves room over memory.max_buffer_bytes for the heap');
  const grace = workload.spec.template.spec.terminationGracePeriodSeconds ?? 30;
  t.ok(grace * 1000 > cfg.shutdown.grace_period, 'the pod waits longer than logship drains');

  // Positions on a writable mount; every source glob under a read-only mount of a real volume.
  const under = (path: string) => [...r.mounts.keys()].filter((m) => path === m || path.startsWith(m + '/')).sort((a, b) => b.length - a.length)[0];
  const posMount = under(cfg.positions.path);
  t.ok(posMount, `positions ${cfg.positions.path} are on a volume`);
  t.equal(r.mounts.get(posMount)?.readOnly, false, 'positions volume writable');
  t.equal(r.container.securityContext?.readOnlyRootFilesystem, true, 'root filesystem read-only (state only on the volume)');
  t.equal(r.container.securityContext?.allowPrivilegeEscalation, false);
  t.same(r.container.securityContext?.capabilities?.drop, ['ALL']);
  for (const s of cfg.sources) {
    if (!('paths' in s)) continue;
    for (const glob of s.paths) {
      const base = picomatch.scan(glob).base;
      const m = under(base);
      t.ok(m, `source ${s.name}: ${glob} is under a mount`);
      t.equal(r.mounts.get(m)?.readOnly, true, `source ${s.name}: ${m} mounted read-only`);
    }
  }
}

async function validateWithCli(t: Test, r: Resolved): Promise<void> {
  const file = join(tempDir(), 'logship.yaml');
  writeFileSync(file, r.configText);
  const v = await runCli(['validate', '--config', file], { env: r.env });
  t.equal(v.code, 0, `logship validate: ${v.stderr}`);
  // The manifests set LOKI_URL, so validate reports that override before its summary (README "Environment overrides").
  t.match(v.stdout, /^(environment override: [^\n]*\n)*config ok/);
}

t.test('DaemonSet', async (t) => {
  const docs = load('daemonset.yaml');
  const ds = docs.find((d) => d.kind === 'DaemonSet')!;
  t.ok(ds, 'has a DaemonSet');
  t.equal(ds.apiVersion, 'apps/v1');
  t.match(ds.spec.template.metadata.labels, ds.spec.selector.matchLabels, 'selector matches the template');
  const r = resolveLogship(t, docs, ds);
  checkRuntime(t, ds, r);

  const hostPaths = new Map<string, { path: string; readOnly: boolean }>();
  for (const [mountPath, m] of r.mounts) if (m.volume.hostPath) hostPaths.set(m.volume.hostPath.path, { path: mountPath, readOnly: m.readOnly });
  for (const p of ['/var/log/pods', '/var/lib/docker/containers', '/var/log']) {
    t.same(hostPaths.get(p), { path: p, readOnly: true }, `hostPath ${p} mounted read-only at the same path`);
  }
  const cfg = parseConfig(r.configText, 'configmap', r.env);
  const state = hostPaths.get('/var/lib/logship');
  t.same(state, { path: '/var/lib/logship', readOnly: false }, 'positions on hostPath /var/lib/logship (survive pod restarts)');
  t.ok(cfg.positions.path.startsWith('/var/lib/logship/'), 'positions.path on that hostPath');

  const types = new Map(cfg.sources.map((s) => [s.type, s as FileSourceConfig]));
  t.ok(types.get('cri')?.paths.every((p) => p.startsWith('/var/log/pods/')), 'a cri source on /var/log/pods');
  t.ok(types.get('docker')?.paths.every((p) => p.startsWith('/var/lib/docker/containers/')), 'a docker source on /var/lib/docker/containers');
  // /var/log/containers (symlinks into /var/log/pods) must not be read twice by the node source.
  const nodeSrc = cfg.sources.find((s) => s.type === 'file') as FileSourceConfig;
  const picked = picomatch(nodeSrc.paths);
  const excluded = picomatch(nodeSrc.exclude.filter((e) => e.includes('/')));
  for (const p of ['/var/log/pods/ns_pod_uid/app/0.log', '/var/log/containers/pod_ns_app-123.log']) t.ok(!picked(p) || excluded(p), `node source skips ${p}`);
  t.ok(picked('/var/log/syslog.log') && !excluded('/var/log/nginx/access.log'), 'node source reads /var/log');

  const nodeName = (r.container.env as Obj[]).find((e) => e.name === 'NODE_NAME');
  t.equal(nodeName?.valueFrom?.fieldRef?.fieldPath, 'spec.nodeName', 'NODE_NAME from the downward API');
  t.equal(cfg.host, r.env.NODE_NAME, 'host: ${NODE_NAME}');
  t.equal(ds.spec.template.spec.automountServiceAccountToken, false, 'no API token: logship only reads files');
  t.same(r.container.securityContext.capabilities.add, ['DAC_READ_SEARCH'], 'one capability: read root-only logs');
  t.ok((ds.spec.template.spec.tolerations as Obj[]).some((x) => x.operator === 'Exists'), 'scheduled on every node');
  await validateWithCli(t, r);
});

t.test('sidecar', async (t) => {
  const docs = load('sidecar.yaml');
  const deploy = docs.find((d) => d.kind === 'Deployment')!;
  t.ok(deploy, 'has a Deployment');
  t.match(deploy.spec.template.metadata.labels, deploy.spec.selector.matchLabels, 'selector matches the template');
  const r = resolveLogship(t, docs, deploy);
  checkRuntime(t, deploy, r);
  const pod = r.pod;
  const inInit = (pod.initContainers ?? []).includes(r.container);
  if (inInit) t.equal(r.container.restartPolicy, 'Always', 'a native sidecar (init container that keeps running)');

  const app = (pod.containers as Obj[]).find((c) => c.name !== 'logship')!;
  t.ok(app, 'an application container');
  const cfg = parseConfig(r.configText, 'configmap', r.env);
  const src = cfg.sources[0] as FileSourceConfig;
  const logDir = picomatch.scan(src.paths[0]).base;
  const shared = r.mounts.get(logDir)!;
  t.ok(shared?.volume.emptyDir, `${logDir} is an emptyDir`);
  t.equal(shared.readOnly, true, 'logship reads it read-only');
  const appMount = (app.volumeMounts as Obj[]).find((m) => m.name === shared.volume.name);
  t.ok(appMount && !appMount.readOnly, 'the app mounts the same emptyDir writable');
  // The file the app writes is one the source picks up.
  const written = /(\/\S+\.log)/.exec((app.command as string[]).join(' '))?.[1];
  t.ok(written && written.startsWith(appMount!.mountPath + '/'), `app writes ${written} into the shared volume`);
  t.ok(picomatch(src.paths)(written!.replace(appMount!.mountPath, logDir)), 'and the source glob matches it');
  t.equal(pod.securityContext.runAsNonRoot, true, 'the sidecar needs no root');
  t.equal(pod.securityContext.fsGroup, pod.securityContext.runAsGroup, 'fsGroup makes the emptyDir shared');
  t.match(src.labels, { namespace: r.env.POD_NAMESPACE, pod: r.env.POD_NAME }, 'pod identity as labels');
  await validateWithCli(t, r);
});
