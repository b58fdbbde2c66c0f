import { LogshipError } from './core/errors.ts';

/**
 * The oldest Node.js major logship runs on. Below it the daemon would not fail at once but at
 * its first use of a newer feature, with an error that does not say why: Node 20 and 22 (V8 12.4)
 * reject the built-in classification rules' duplicate named capture groups (`(?<user_id>…)` in
 * two alternatives, ES2025, V8 12.5+), so `run` stopped with "Duplicate capture group name".
 */
export const MIN_NODE_MAJOR = 24;

export class UnsupportedNodeError extends LogshipError {
  constructor(version: string, execPath: string) {
    super(
      'unsupported_node',
      `needs Node.js ${MIN_NODE_MAJOR} or later; this is Node.js ${version} (${execPath}). ` +
        `Put a Node.js ${MIN_NODE_MAJOR} \`node\` first on the PATH (the bin starts \`node\` from the PATH), or run \`npm start\`, which uses the node@${MIN_NODE_MAJOR} devDependency.`,
      { version, execPath, required: MIN_NODE_MAJOR },
    );
  }
}

/** Throws UnsupportedNodeError when `version` (as in process.versions.node) is too old. */
export function assertSupportedNode(version: string, execPath: string): void {
  const major = Number.parseInt(version, 10);
  if (!(major >= MIN_NODE_MAJOR)) throw new UnsupportedNodeError(version, execPath);
}
