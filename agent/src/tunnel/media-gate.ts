/**
 * Back-pressure on the tunnel (issue 5): when the tunnel's TLS write buffer
 * is full, a camera's fragments are dropped until its next keyframe, and the
 * drops are counted. The box never buffers more than the socket's high-water
 * mark per tunnel; a viewer resumes cleanly at the keyframe.
 */
export class MediaGate {
  #blocked = false;
  readonly #waiting = new Set<string>();
  readonly #dropped = new Map<string, number>();

  get blocked(): boolean {
    return this.#blocked;
  }

  /** Per camera: fragments dropped so far. */
  get dropped(): Readonly<Record<string, number>> {
    return Object.fromEntries(this.#dropped);
  }

  get droppedTotal(): number {
    let n = 0;
    for (const v of this.#dropped.values()) n += v;
    return n;
  }

  /** Whether this fragment may be written now; counts it as dropped otherwise. */
  admit(camera: string, keyframe: boolean): boolean {
    if (this.#blocked || (this.#waiting.has(camera) && !keyframe)) {
      this.#waiting.add(camera);
      this.#dropped.set(camera, (this.#dropped.get(camera) ?? 0) + 1);
      return false;
    }
    this.#waiting.delete(camera);
    return true;
  }

  /** The stream's write buffer is full (write returned false) or there is no stream. */
  block(): void {
    this.#blocked = true;
  }

  /** 'drain', or a new stream: writes resume, each camera at its next keyframe. */
  unblock(cameras: Iterable<string>): void {
    this.#blocked = false;
    for (const c of cameras) this.#waiting.add(c);
  }

  /** Only after a drain: cameras that were not dropping go on without waiting. */
  drained(): void {
    this.#blocked = false;
  }
}
