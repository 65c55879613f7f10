/**
 * The seam between the box's media (ffmpeg remux of a camera's RTSP into
 * fragmented MP4) and the tunnel that carries it to the recipient's relay.
 * Media never touches the box's disk: fragments live in memory, for as long as
 * a session or the warm cache needs them.
 */

/** Where a camera's live stream is read (from the inventory; credentials from the 0600 store). */
export interface CameraStream {
  readonly cameraId: string;
  /** rtsp://host:port/path, without credentials. */
  readonly streamUri: string;
  readonly username: string;
  readonly password: string;
}

/** The fMP4 initialisation segment (ftyp + moov) of one camera. */
export interface MediaInit {
  readonly camera: string;
  /** e.g. `video/mp4; codecs="avc1.4d0028"`, what MediaSource.isTypeSupported takes. */
  readonly mime: string;
  readonly data: Buffer;
}

/** One fMP4 fragment (moof + mdat) of one camera. */
export interface MediaFragment {
  readonly camera: string;
  /** Per camera, from 1, without gaps in what the feed emits. */
  readonly seq: number;
  /** The fragment starts with a key frame: a viewer (or a drop) may resume here. */
  readonly keyframe: boolean;
  readonly data: Buffer;
}

export interface MediaSink {
  init(init: MediaInit): void;
  fragment(fragment: MediaFragment): void;
  /** A camera's stream failed or stopped; the feed retries on its own while open. */
  problem(camera: string, detail: string): void;
}

/** The live media of one session's cameras, from open to close. */
export interface FeedHandle {
  /** Stops every ffmpeg of the session and drops its buffers. Never rejects. */
  close(): Promise<void>;
}

export interface MediaFeeds {
  /**
   * Starts the cameras' feeds into `sink`. With a warm cache, each camera
   * starts with its latest init segment and group of pictures.
   */
  open(sessionId: string, cameras: readonly CameraStream[], sink: MediaSink): FeedHandle;
}

/** Resolves an annexed camera id to where its live stream is read, or why it cannot be. */
export interface CameraDirectory {
  liveStream(cameraId: string): CameraStream | { readonly unavailable: string };
}
