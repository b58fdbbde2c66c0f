import t from 'tap';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { containerFields, kubernetesFromPath } from '../../../src/sources/container/metadata.ts';
import { tempDir } from '../../support/daemon.ts';

const ID = 'b'.repeat(64);

t.test('pod directory and /var/log/containers link names', async (t) => {
  t.same(kubernetesFromPath('/var/log/pods/kube-system_coredns-5d78c9869d-abcde_0f1e2d3c-1111-2222-3333-444455556666/coredns/3.log'), { namespace: 'kube-system', pod: 'coredns-5d78c9869d-abcde', pod_uid: '0f1e2d3c-1111-2222-3333-444455556666', container: 'coredns' });
  t.same(kubernetesFromPath('/var/log/pods/ns_pod_0f1e2d3c-1111-2222-3333-444455556666/c/0.log.20240115-101010'), { namespace: 'ns', pod: 'pod', pod_uid: '0f1e2d3c-1111-2222-3333-444455556666', container: 'c' });
  t.same(kubernetesFromPath(`/var/log/containers/web-1_prod_nginx-${ID}.log`), { pod: 'web-1', namespace: 'prod', container: 'nginx', container_id: ID });
  t.same(kubernetesFromPath('/var/log/app/app.log'), {});
});

t.test('docker: id from the path, name/image from config.v2.json, through a kubelet symlink', async (t) => {
  const dir = tempDir();
  const cdir = join(dir, 'docker', 'containers', ID);
  mkdirSync(cdir, { recursive: true });
  writeFileSync(join(cdir, `${ID}-json.log`), '');
  mkdirSync(join(dir, 'containers'));
  const link = join(dir, 'containers', `web-1_prod_nginx-${ID}.log`);
  symlinkSync(join(cdir, `${ID}-json.log`), link);
  t.same(containerFields('docker', join(cdir, `${ID}-json.log`)), { container_id: ID }, 'config.v2.json missing: just the id');
  writeFileSync(join(cdir, 'config.v2.json'), JSON.stringify({ Name: '/web', Config: { Image: 'nginx:1.25', Labels: null } }));
  t.same(containerFields('docker', join(cdir, `${ID}-json.log`)), { container_id: ID, container_name: 'web', image: 'nginx:1.25' });
  t.same(containerFields('docker', link), { container_id: ID, container_name: 'web', image: 'nginx:1.25', pod: 'web-1', namespace: 'prod', container: 'nginx' });
  writeFileSync(join(cdir, 'config.v2.json'), '{not json');
  t.same(containerFields('docker', join(cdir, `${ID}-json.log`)), { container_id: ID }, 'unreadable config: no crash');
});
