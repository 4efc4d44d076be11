// The first N bytes of a stream: for output whose beginning is what counts (a Nagios plugin's
// first line is its verdict), kept in bounded memory however much follows.
export class HeadBuffer {
  private chunks: Buffer[] = [];
  private size = 0;
  private dropped = 0;

  constructor(private readonly max: number) {}

  push(chunk: Buffer): void {
    const room = this.max - this.size;
    if (room > 0) {
      const kept = chunk.length <= room ? chunk : chunk.subarray(0, room);
      this.chunks.push(kept);
      this.size += kept.length;
    }
    this.dropped += Math.max(0, chunk.length - Math.max(0, room));
  }

  // The kept bytes as text, without the final newline; "[…N bytes cut]" last when cut.
  text(): string {
    const body = Buffer.concat(this.chunks)
      .toString("utf8")
      .replace(/\r?\n$/, "");
    return this.dropped > 0 ? `${body}\n[…${this.dropped} bytes cut]` : body;
  }
}
