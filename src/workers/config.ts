import { z } from 'zod';

/**
 * The `workers:` section: parse and run the stages on worker threads (README "Pipeline workers").
 * 0 (the default) keeps everything on the main thread, exactly as without the section.
 */
export const workersConfigSchema = z.strictObject({
  /** Worker threads that parse lines and run the stages; every file stays on one of them. */
  threads: z.number().int().min(0).max(64).default(0),
}).default({ threads: 0 });
