import { z } from 'zod';
import { fileSourceSchema } from './config.ts';
import { journaldSourceSchema } from './journald/config.ts';
import { syslogSourceSchema } from './syslog/config.ts';

/** A source: files (the default `type`), the systemd journal, or a syslog receiver. New sources add their schema here. */
export const sourceSchema = z.discriminatedUnion('type', [fileSourceSchema, journaldSourceSchema, syslogSourceSchema]);
