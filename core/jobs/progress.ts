/**
 * Rate and ETA from progress samples: an exponentially weighted rate, so one slow file does not
 * swing the estimate and a long job still reacts within a few seconds to a real change of pace.
 */
export class RateMeter {
  private lastDone: number | undefined;
  private lastAt = 0;
  private rate: number | undefined;

  constructor(private readonly halfLifeMs = 5000) {}

  sample(done: number, now = Date.now()): void {
    if (this.lastDone === undefined) {
      this.lastDone = done;
      this.lastAt = now;
      return;
    }
    const dt = now - this.lastAt;
    if (dt < 200) return;
    const instant = ((done - this.lastDone) / dt) * 1000;
    const alpha = 1 - Math.pow(0.5, dt / this.halfLifeMs);
    this.rate = this.rate === undefined ? instant : this.rate + alpha * (instant - this.rate);
    this.lastDone = done;
    this.lastAt = now;
  }

  /** Items per second, once known. */
  perSecond(): number | undefined {
    return this.rate;
  }

  etaSeconds(done: number, total: number | null | undefined): number | undefined {
    if (!total || this.rate === undefined || this.rate <= 0) return undefined;
    return Math.max(0, (total - done) / this.rate);
  }
}
