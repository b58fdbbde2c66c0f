import t from 'tap';

t.test('tests run on Node >= 22 (the node@24 devDependency is first on the PATH)', async (t) => {
  const major = Number(process.versions.node.split('.')[0]);
  t.ok(major >= 22, `node ${process.versions.node}`);
});
