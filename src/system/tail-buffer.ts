// The last N bytes of a stream: what a command said most recently (where its errors are), kept in
// bounded memory however much it prints.
export class TailBuffer {
  private chunks: Buffer[] = [];
  private size = 0;
  // Bytes dropped from the front, so the text can say it was cut.
  private dropped = 0;

  constructor(private readonly max: number) {}

  push(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.size += chunk.length;
    while (this.size > this.max && this.chunks.length > 0) {
      const first = this.chunks[0] as Buffer;
      const excess = this.size - this.max;
      if (first.length <= excess) {
        this.chunks.shift();
        this.size -= first.length;
        this.dropped += first.length;
      } else {
        this.chunks[0] = first.subarray(excess);
        this.size -= excess;
        this.dropped += excess;
      }
    }
  }

  // The kept bytes as text, without the final newline; "[…N bytes cut]" first when cut.
  text(): string {
    const body = Buffer.concat(this.chunks)
      .toString("utf8")
      .replace(/\r?\n$/, "");
    return this.dropped > 0 ? `[…${this.dropped} bytes cut]\n${body}` : body;
  }
}
