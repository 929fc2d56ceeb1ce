// Seeded randomness for reproducible runs: every random draw of a training step (augmentation
// parameters, batch order, init seeds) comes from a generator seeded by (run seed, step), so a run
// resumed from a checkpoint sees exactly the draws it would have seen without the interruption.

/** mulberry32: tiny, fast, good enough for augmentation parameters and shuffles. */
export class Rng {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** A generator for one (seed, stream, index) triple, e.g. (run seed, 'augment', step). */
  static derive(seed: number, stream: string, index = 0): Rng {
    let h = (seed ^ 0x9e3779b9) >>> 0;
    for (const ch of `${stream}:${index}`) h = Math.imul(h ^ ch.charCodeAt(0), 0x85ebca6b) >>> 0;
    h ^= h >>> 13;
    return new Rng(Math.imul(h, 0xc2b2ae35) >>> 0);
  }

  /** Uniform in [0, 1). */
  next(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  uniform(lo: number, hi: number): number {
    return lo + (hi - lo) * this.next();
  }

  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** Standard normal (Box–Muller). */
  normal(): number {
    const u = 1 - this.next(), v = this.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  /** A seed for tfjs initialisers. */
  seed(): number {
    return Math.floor(this.next() * 2 ** 31);
  }

  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      [items[i], items[j]] = [items[j]!, items[i]!];
    }
    return items;
  }
}
