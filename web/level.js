// The level a worklet reports to the page a few times a second: RMS in
// dBFS of what went through it since the last report. feed() is for the
// audio thread: it adds up, and says when a report is due.
export class LevelMeter {
  constructor(rate, everySeconds = 0.2) {
    this.every = rate * everySeconds;
    this.sum = 0;
    this.count = 0;
  }

  /** Adds a block; true when a report is due (then take db()). */
  feed(block) {
    for (let i = 0; i < block.length; i++) this.sum += block[i] * block[i];
    this.count += block.length;
    return this.count >= this.every;
  }

  /** The level since the last call, in dBFS; starts over. */
  db() {
    const rms = Math.sqrt(this.sum / Math.max(1, this.count));
    this.sum = 0;
    this.count = 0;
    return 20 * Math.log10(rms || 1e-9);
  }
}
