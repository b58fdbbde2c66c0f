import { z } from 'zod';
import { duration } from '../core/config-fields.ts';

/** The `positions:` section: where committed read offsets are kept and how often they are synced. */
export const positionsConfigSchema = z.strictObject({
  path: z.string().default('./data/positions.json'),
  sync_interval: duration().default(1000),
  /** Entries of files gone (not tailed) for longer than this are forgotten. */
  expire_after: duration().default(3_600_000),
  /**
   * Where files start when positions existed but none can be trusted (the file and its .tmp and
   * .bak generations all corrupt or unreadable): `beginning` re-reads them (at-least-once:
   * duplicates, never a gap), `end` skips what was written meanwhile. Not start_at: that is for
   * files logship never saw.
   */
  on_lost: z.enum(['beginning', 'end']).default('beginning'),
  /** Promtail's positions file: at the first start, files with no position continue at Promtail's offset. */
  import_promtail: z.string().min(1).optional(),
}).default({ path: './data/positions.json', sync_interval: 1000, expire_after: 3_600_000, on_lost: 'beginning' });
