import { setFlagsFromString } from 'node:v8';

/**
 * The bundle's entry: scripts/bundle.ts builds this file as dist/bundle/cli.js (the bin, with
 * src/cli.ts's shebang) and src/cli.ts as a chunk it imports. It holds the young generation at
 * its initial size, 1 MiB semi-spaces, while the CLI's modules load and the daemon starts; cli.ts
 * lets it grow again once the daemon has started (and at once for every other command).
 *
 * Why: the start allocates ~10 MiB that survives, so V8 grows the young generation to its cap
 * (--max-semi-space-size=4: two 4 MiB semi-spaces, ~6 MiB of them touched at /ready) and keeps it
 * until the idle collection a second later. Held at 1 MiB the survivors are promoted sooner: RSS
 * at /ready ~2.9 MiB lower, CPU to /ready unchanged (bench/RESULTS.md, "Start-up"). No launch flag
 * does this: V8 raises --semi-space-growth-factor to at least 2 when it starts, and a smaller
 * --max-semi-space-size is fixed for the life of the process (1 MiB costs ~10% of lines per
 * CPU-s). Set at run time the factor holds (V8 reads it at each scavenge), and back at 2 the young
 * generation grows to its cap at the next scavenges with survivors.
 *
 * A dynamic import, not a static one: static imports are linked and evaluated before this
 * module's own code runs. Run from the sources (`node src/cli.ts`) nothing of this applies.
 */
setFlagsFromString('--semi-space-growth-factor=1');
await import('./cli.ts');
