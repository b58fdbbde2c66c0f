/** Texts longer than this are not kept (nor looked up): long texts rarely repeat, and a kept text stays in memory. */
const MAX_TEXT = 256;
const SLOT_BITS = 8;
const SLOTS = 1 << SLOT_BITS;
/** Lookups per hit-rate sample, and lookups skipped after a sample with too few hits. */
const SAMPLE = 4096;
const SKIP = 65536;

/** What TextVerdicts knows of a text: nothing, false, true. */
export const UNKNOWN = 0;
export const FALSE = 1;
export const TRUE = 2;
export type Verdict = typeof UNKNOWN | typeof FALSE | typeof TRUE;

/**
 * A verdict per text for a check that is a pure function of the text and runs on every record:
 * messages repeat (a logger's message templates), so most records find theirs here. Direct
 * mapped: the slot comes from the length and six characters, so a lookup costs a few
 * character reads and, when the slot is taken, one string comparison; a new text takes the
 * slot over. At most SLOTS texts of at most MAX_TEXT characters are held.
 *
 * Texts that do not repeat (access-log request lines) only cost: keeping each one makes it
 * survive young-generation GCs, and on nginx lines the stages got 20% slower with it. So when
 * fewer than 1 in 8 lookups of a sample hit, lookups are skipped for a while and then tried again.
 */
export class TextVerdicts {
  private readonly texts: string[] = new Array<string>(SLOTS).fill('');
  private readonly verdicts = new Uint8Array(SLOTS);
  private lookups = 0;
  private hits = 0;
  /** Lookups (and sets) still to skip. */
  private skip = 0;

  get(s: string): Verdict {
    if (this.skip > 0) {
      this.skip--;
      return UNKNOWN;
    }
    const n = s.length;
    if (n === 0 || n > MAX_TEXT) return UNKNOWN;
    const i = slot(s, n);
    const hit = this.texts[i] === s;
    if (hit) this.hits++;
    if (++this.lookups === SAMPLE) {
      if (this.hits < SAMPLE / 8) {
        this.skip = SKIP;
        this.texts.fill('');
      }
      this.lookups = 0;
      this.hits = 0;
    }
    return hit ? (this.verdicts[i] as Verdict) : UNKNOWN;
  }

  set(s: string, verdict: boolean): void {
    const n = s.length;
    if (this.skip > 0 || n === 0 || n > MAX_TEXT) return;
    const i = slot(s, n);
    this.texts[i] = s;
    this.verdicts[i] = verdict ? TRUE : FALSE;
  }
}

/** From the length and six characters spread over the text (a template's texts differ in their variable parts). */
function slot(s: string, n: number): number {
  let h = n;
  h = h * 31 + s.charCodeAt(0);
  h = h * 31 + s.charCodeAt(n >> 2);
  h = h * 31 + s.charCodeAt(n >> 1);
  h = h * 31 + s.charCodeAt((n * 3) >> 2);
  h = h * 31 + s.charCodeAt(n > 1 ? n - 2 : 0);
  h = h * 31 + s.charCodeAt(n - 1);
  return Math.imul(h, 0x9e3779b1) >>> (32 - SLOT_BITS);
}
