import t from 'tap';
import { appendFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DaemonProcess, freePort, readNdjson, tempDir, waitFor, writeConfig } from '../../support/daemon.ts';
import { DOCKER_ID, POD_DIR, copyFixture, expected } from './support.ts';

interface Shipped {
  message: string;
  timestamp: string;
  source: Record<string, string>;
}

t.test('docker and cri sources from the CLI: records rejoined exactly, runtime time, stream and container/pod metadata', async (t) => {
  const dir = tempDir();
  copyFixture('docker', dir);
  copyFixture('cri', dir);
  const port = await freePort();
  const cfg = await writeConfig(dir, `
server: { listen: "127.0.0.1:${port}" }
positions: { path: "${dir}/data/positions.json", sync_interval: 200ms }
sources:
  - { name: docker, type: docker, paths: ["${dir}/containers/*/*-json.log"], parser: plain, start_at: beginning }
  - { name: cri, type: cri, paths: ["${dir}/pods/*/*/*.log"], parser: plain, start_at: beginning }
sinks:
  - { type: file, path: "${dir}/data/shipped.ndjson", fsync: false }
`);
  const d = new DaemonProcess(['run', '--config', cfg]);
  t.teardown(() => d.kill('SIGKILL'));
  await d.waitHttp(port);
  const out = join(dir, 'data', 'shipped.ndjson');
  const want = { docker: expected('docker'), cri: expected('cri') };
  const total = want.docker.length + want.cri.length;
  await waitFor('all fixture records', () => readNdjson(out).length >= total, 20_000);
  const recs = readNdjson<Shipped>(out);
  for (const name of ['docker', 'cri'] as const) {
    const got = recs.filter((r) => r.source.name === name);
    t.equal(got.length, want[name].length, `${name}: one record per joined line`);
    got.forEach((r, i) => {
      t.equal(r.message, want[name][i].text, `${name} record ${i} rejoined exactly`);
      t.equal(r.source.stream, want[name][i].stream);
      t.equal(r.timestamp, want[name][i].time, 'runtime timestamp');
    });
    t.match(got[0].source, { namespace: 'shop', pod: 'checkout-7d4b9c-x2x9z', pod_uid: '5f1c2d3e-aaaa-bbbb-cccc-0123456789ab', container: 'app' }, `${name}: Kubernetes metadata`);
  }
  t.match(recs.find((r) => r.source.name === 'docker')!.source, { type: 'docker', container_id: DOCKER_ID, container_name: 'k8s_app_checkout-7d4b9c-x2x9z_shop_5f1c2d3e-aaaa-bbbb-cccc-0123456789ab_0', image: 'registry.example.com/shop/checkout:1.4.2' });
  t.match(recs.find((r) => r.source.name === 'cri')!.source, { type: 'cri', file: join(dir, 'pods', POD_DIR, 'app', '0.log') });

  // Live: a piece now, its end later, with the other stream in between.
  const criLog = join(dir, 'pods', POD_DIR, 'app', '0.log');
  appendFileSync(criLog, '2024-01-15T11:00:00.000000001Z stdout P live-\n2024-01-15T11:00:00.000000002Z stderr F between\n');
  await waitFor('stderr line', () => readNdjson<Shipped>(out).some((r) => r.message === 'between'));
  appendFileSync(criLog, '2024-01-15T11:00:00.000000003Z stdout F joined\n');
  await waitFor('joined live record', () => readNdjson<Shipped>(out).some((r) => r.message === 'live-joined'));
  t.equal((await d.kill('SIGTERM')).code, 0);
  const pos = JSON.parse(readFileSync(join(dir, 'data', 'positions.json'), 'utf8')) as { files: Record<string, { path: string; offset: number }> };
  const criPos = Object.values(pos.files).find((f) => f.path === criLog)!;
  t.equal(criPos.offset, readFileSync(criLog).length, 'committed to the end of the last piece');
});
