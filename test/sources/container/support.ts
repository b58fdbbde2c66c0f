import { cpSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../../support/daemon.ts';

export interface ExpectedRecord { stream: 'stdout' | 'stderr'; text: string; time: string }

export const FIXTURES = join(ROOT, 'test', 'fixtures');
export const DOCKER_ID = 'a3f1c2e4b5d6978812345678901234567890abcdef1234567890abcdef123456';
export const DOCKER_LOG = join(FIXTURES, 'docker', 'containers', DOCKER_ID, `${DOCKER_ID}-json.log`);
export const POD_DIR = 'shop_checkout-7d4b9c-x2x9z_5f1c2d3e-aaaa-bbbb-cccc-0123456789ab';
export const CRI_LOG = join(FIXTURES, 'cri', 'pods', POD_DIR, 'app', '0.log');

export function expected(format: 'docker' | 'cri'): ExpectedRecord[] {
  return JSON.parse(readFileSync(join(FIXTURES, format, 'expected.json'), 'utf8')) as ExpectedRecord[];
}

export function fixtureLines(path: string): string[] {
  return readFileSync(path, 'utf8').split('\n').slice(0, -1);
}

/** Copies a fixture tree (containers/ or pods/) into `dir`, keeping the runtime's path layout. */
export function copyFixture(format: 'docker' | 'cri', dir: string): void {
  cpSync(join(FIXTURES, format, format === 'docker' ? 'containers' : 'pods'), join(dir, format === 'docker' ? 'containers' : 'pods'), { recursive: true });
}
