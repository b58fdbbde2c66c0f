import t from 'tap';
import { MIN_NODE_MAJOR } from '../src/node-version.ts';

t.test(`tests run on Node >= ${MIN_NODE_MAJOR} (the node@24 devDependency is first on the PATH)`, async (t) => {
  const major = Number(process.versions.node.split('.')[0]);
  t.ok(major >= MIN_NODE_MAJOR, `node ${process.versions.node}`);
});
