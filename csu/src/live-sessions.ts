/**
 * The seam between the relay (which terminates the boxes' tunnels and keeps
 * their media in memory) and the viewer (the web page of the receiving
 * centre's named viewers). Nothing here is ever written to disk.
 */

export interface LiveCamera {
  readonly id: string;
  readonly label: string;
  readonly location: string;
}

/** What a viewer sees of a live session (from the verified ticket and the policy). */
export interface LiveSessionInfo {
  readonly sessionId: string;
  readonly siteId: string;
  readonly siteName: string;
  readonly boxId: string;
  readonly cameras: readonly LiveCamera[];
  /** The purpose code of the open command (e.g. `flagrant-delit`), and its French label. */
  readonly purpose: string;
  readonly purposeLabel: string;
  /** The requesting operator: key id and name from the policy. */
  readonly operatorKid: string;
  readonly operatorName: string;
  /** The call reference of the trigger, when the command carries one. */
  readonly callRef: string | null;
  readonly openedAtMs: number; // wall clock, ms since epoch
  readonly expiresAtMs: number; // the relay's own deadline (it cuts the stream then)
}

export interface Viewer {
  readonly id: string;
  readonly name: string;
}

/**
 * Media bytes as the relay holds them: one buffer, or the pieces of one
 * fragment in order, as they came off the tunnel (a large fragment is never
 * copied on its way from the box to a viewer's WebSocket).
 */
export type MediaBytes = Buffer | readonly Buffer[];

export function mediaLength(data: MediaBytes): number {
  if (Buffer.isBuffer(data)) return data.length;
  let n = 0;
  for (const part of data as readonly Buffer[]) n += part.length;
  return n;
}

export interface MediaSubscriber {
  init(camera: string, mime: string, data: Buffer): void;
  fragment(camera: string, seq: number, keyframe: boolean, data: MediaBytes): void;
  /** The session ended (reason is a close reason such as `ttl-expired`); nothing more comes. */
  end(reason: string): void;
  /**
   * Bytes accepted but not yet sent to the viewer (e.g. WebSocket
   * bufferedAmount). Past the relay's per-viewer bound, this viewer skips to
   * the next keyframe: a slow viewer never makes the relay buffer more.
   */
  bufferedBytes?(): number;
}

export type LiveSessionsEvent =
  | { readonly kind: 'opened'; readonly session: LiveSessionInfo }
  | { readonly kind: 'extended'; readonly session: LiveSessionInfo }
  | { readonly kind: 'closed'; readonly sessionId: string; readonly reason: string };

export interface LiveSessions {
  list(): LiveSessionInfo[];
  get(sessionId: string): LiveSessionInfo | undefined;
  /**
   * Subscribes a viewer to one camera of a live session: it receives the init
   * segment and the current group of pictures first (late join), then live
   * fragments. The join (and, on unsubscribe, the leave) goes down the tunnel
   * into the box's journal. Returns null when the session or camera is not live.
   */
  subscribe(
    sessionId: string,
    camera: string,
    viewer: Viewer,
    subscriber: MediaSubscriber,
  ): (() => void) | null;
  /** "Intervention terminée": sent down the tunnel; the box closes with `intervention-ended`. */
  interventionOver(sessionId: string, viewer: Viewer, note: string): boolean;
  /** Session list changes, for pages to refresh. Returns the unsubscribe function. */
  onChange(listener: (event: LiveSessionsEvent) => void): () => void;
}
