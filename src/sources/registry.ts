import { z } from 'zod';
import { typed } from '../core/config-fields.ts';
import { fileSourceSchema } from './config.ts';
import { journaldSourceSchema } from './journald/config.ts';
import { syslogSourceSchema } from './syslog/config.ts';

/**
 * A source: files (the default `type`), the systemd journal, or a syslog receiver. New sources add
 * their schema here. The syslog receiver's is built only for a config that has one.
 */
export const sourceSchema = z.discriminatedUnion('type', [fileSourceSchema, journaldSourceSchema, typed('syslog', syslogSourceSchema)]);
