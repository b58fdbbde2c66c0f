/**
 * A set of integers in [0, 2^52) (the Loki test server's entry hashes) in one Float64Array:
 * open addressing with linear probing, at most half full. A `Set<number>` of such values holds a
 * heap number (values over 2^31) and a hash-table entry per member, several times the 16–32 bytes
 * per member here, and the garbage collector walks them all; the server keeps one per entry of a
 * benchmark (millions) and must stay cheaper than the shipper it measures on the same cores.
 */
export class Hash52Set {
  /** member + 1 per used slot, 0 for an empty one. */
  private table: Float64Array;
  private mask: number;
  /** 32 − log2(capacity): the slot is the top bits of a multiplicative hash. */
  private shift: number;
  size = 0;

  constructor(initialCapacity = 1 << 16) {
    let cap = 16;
    while (cap < initialCapacity) cap *= 2;
    this.table = new Float64Array(cap);
    this.mask = cap - 1;
    this.shift = 32 - Math.log2(cap);
  }

  /** Both halves mixed (Fibonacci hashing), so members that differ only in their high bits spread too. */
  private slot(h: number): number {
    return Math.imul((h >>> 0) ^ Math.imul((h / 4294967296) | 0, 0x85ebca6b), 0x9e3779b1) >>> this.shift;
  }

  has(h: number): boolean {
    const want = h + 1;
    const t = this.table;
    for (let i = this.slot(h); ; i = (i + 1) & this.mask) {
      const v = t[i];
      if (v === want) return true;
      if (v === 0) return false;
    }
  }

  /** Adds `h`; false when it was already a member. */
  add(h: number): boolean {
    if (!(h >= 0 && h < 2 ** 52 && Number.isInteger(h))) throw new RangeError(`Hash52Set holds integers in [0, 2^52), not ${h}`);
    if ((this.size + 1) * 2 > this.table.length) this.grow();
    const want = h + 1;
    const t = this.table;
    for (let i = this.slot(h); ; i = (i + 1) & this.mask) {
      const v = t[i];
      if (v === want) return false;
      if (v === 0) {
        t[i] = want;
        this.size++;
        return true;
      }
    }
  }

  private grow(): void {
    const old = this.table;
    this.table = new Float64Array(old.length * 2);
    this.mask = this.table.length - 1;
    this.shift--;
    const t = this.table;
    for (let j = 0; j < old.length; j++) {
      const v = old[j];
      if (v === 0) continue;
      let i = this.slot(v - 1);
      while (t[i] !== 0) i = (i + 1) & this.mask;
      t[i] = v;
    }
  }
}
