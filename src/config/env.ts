import { LogshipError } from '../core/errors.ts';

export class EnvSubstitutionError extends LogshipError {
  constructor(variable: string, line: number) {
    super('CONFIG_ENV', `line ${line}: environment variable \${${variable}} is not set and has no default (write \${${variable}:-default})`, { variable, line });
  }
}

/**
 * Expands `${VAR}` and `${VAR:-default}` in the raw YAML text, before parsing, the way
 * Promtail's -config.expand-env and docker-compose do. `$${VAR}` escapes to a literal `${VAR}`.
 * An unset variable without a default is an error: shipping to "http://:3100" silently is worse.
 */
export function expandEnv(text: string, env: NodeJS.ProcessEnv = process.env): string {
  return text.replace(/\$(\$?)\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g, (whole, escape: string, name: string, fallback: string | undefined, offset: number) => {
    if (escape) return whole.slice(1);
    const value = env[name];
    if (value !== undefined && value !== '') return value;
    if (fallback !== undefined) return fallback;
    const line = text.slice(0, offset).split('\n').length;
    throw new EnvSubstitutionError(name, line);
  });
}
