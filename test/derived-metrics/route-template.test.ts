import t from 'tap';
import { templateRoute } from '../../src/derived-metrics/route-template.ts';

t.test('identifier segments become :id, readable ones stay', async (t) => {
  const cases: Array<[string, string]> = [
    ['/users/123', '/users/:id'],
    ['/users/123/orders/9', '/users/:id/orders/:id'],
    ['/users/123?tab=profile#x', '/users/:id'],
    ['/docs/550e8400-e29b-41d4-a716-446655440000/pages', '/docs/:id/pages'],
    ['/blobs/deadbeef42', '/blobs/:id'],
    ['/sessions/AbCdEfGh1234567890XyZ_', '/sessions/:id'],
    ['/api/v2/health', '/api/v2/health'],
    ['/user-settings', '/user-settings'],
    ['/cafe', '/cafe'], // hex letters but no digit: a word
    ['/', '/'],
    ['', '/'],
    ['?q=1', '/'],
    ['/a/b/', '/a/b/'],
    ['/static/app.9f8e7d.js', '/static/app.9f8e7d.js'],
    ['/1/2/3/4/5/6/7/8/9/10', '/:id/:id/:id/:id/:id/:id/:id/:id/...'],
  ];
  for (const [path, route] of cases) t.equal(templateRoute(path), route, path);
});

t.test('an unchanged path is returned as is', async (t) => {
  const p = '/api/health';
  t.equal(templateRoute(p), p);
});
