import { z } from 'zod';
import { duration } from '../core/config-fields.ts';

const listenSchema = z.string().regex(/^(\[[0-9a-fA-F:]+\]|[^:\s]+):\d{1,5}$/, { message: 'expected host:port, e.g. "127.0.0.1:9711"' });

/** The `server:` section: the HTTP endpoints (/metrics, /ready, /api/status, the status page). */
export const serverConfigSchema = z.strictObject({
  listen: listenSchema.default('127.0.0.1:9711'),
  /** /ready fails when a sink has been failing for longer than this. */
  ready_max_failing: duration().default(5 * 60_000),
}).default({ listen: '127.0.0.1:9711', ready_max_failing: 300_000 });
