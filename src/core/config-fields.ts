import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { parseDuration, parseSize } from './units.ts';

/** Reusable zod field types. Every message names what was expected and what was found. */

export const size = () =>
  z.union([z.number(), z.string()], { error: (iss) => `expected a size like "1MiB", got ${describe(iss.input)}` })
    .transform((v, ctx) => {
      const n = parseSize(v);
      if (n === undefined) {
        ctx.addIssue({ code: 'custom', message: `expected a size like "1MiB", got ${describe(v)}` });
        return z.NEVER;
      }
      return n;
    });

export const duration = () =>
  z.union([z.number(), z.string()], { error: (iss) => `expected a duration like "1s" or "500ms", got ${describe(iss.input)}` })
    .transform((v, ctx) => {
      const n = parseDuration(v);
      if (n === undefined) {
        ctx.addIssue({ code: 'custom', message: `expected a duration like "1s" or "500ms", got ${describe(v)}` });
        return z.NEVER;
      }
      return n;
    });

/** A regular expression given as text; compiled at load so a bad one fails `validate`. */
export const regex = (flags = '') =>
  z.string().transform((v, ctx) => {
    try {
      return new RegExp(v, flags);
    } catch (e) {
      ctx.addIssue({ code: 'custom', message: `invalid regular expression: ${(e as Error).message}` });
      return z.NEVER;
    }
  });

export const url = () =>
  z.string().transform((v, ctx) => {
    try {
      const u = new URL(v);
      if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error('scheme must be http or https');
      return v.replace(/\/+$/, '');
    } catch (e) {
      ctx.addIssue({ code: 'custom', message: `expected an http(s) URL, got ${describe(v)} (${(e as Error).message})` });
      return z.NEVER;
    }
  });

/** Reads a secret file at load time (trimmed), so a missing file fails at start with its key. */
export const secretFile = () =>
  z.string().transform((path, ctx) => {
    try {
      return readFileSync(path, 'utf8').trim();
    } catch (e) {
      ctx.addIssue({ code: 'custom', message: `cannot read secret file ${JSON.stringify(path)}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}` });
      return z.NEVER;
    }
  });

export const labelMap = () => z.record(z.string(), z.string()).default({});

export function describe(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v);
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  return String(v);
}

/**
 * A discriminated-union member whose own schema is built at its first use (`schema` a z.lazy):
 * the union learns the member's `type` from the stand-in in front, so parsing a config builds only
 * the members it has. The whole object goes on to `schema`, whose issues keep their key paths.
 */
export function typed<const T extends string, S extends z.ZodType>(type: T, schema: S): z.ZodPipe<z.ZodObject<{ type: z.ZodLiteral<T> }, z.core.$loose>, S> {
  // The stand-in's output (the object as given) is exactly `schema`'s input; its type says only `type`.
  return z.looseObject({ type: z.literal(type) }).pipe(schema as never) as unknown as z.ZodPipe<z.ZodObject<{ type: z.ZodLiteral<T> }, z.core.$loose>, S>;
}
