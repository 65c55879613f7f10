/**
 * Camera credentials, per camera, from a file only the agent may read
 * (mode 0600, owned by the agent's user): a file readable by anyone else is
 * refused, the way ssh refuses a private key left open. Every password is
 * registered with the redactor as it is read, so it can never reach a log,
 * an event, an error or the journal (DESIGN rule 7).
 *
 * File format (JSON, the one `vigie sim` writes too):
 *   {"version": 1, "cameras": [{"id": "cam-01", "endpointReference": "urn:uuid:...",
 *     "xaddr": "http://...", "username": "...", "password": "..."}]}
 * Each entry names its camera by annex id, endpoint URN, or both; the address
 * is informative only (cameras are matched by identity, never by address).
 */
import { promises as fs } from 'node:fs';
import { z } from 'zod';
import { VigieError } from '../../../lib/src/errors.js';
import type { Redactor } from '../../../lib/src/redact.js';
import { formatIssues } from '../../../lib/src/schema.js';

export interface CameraCredentials {
  readonly username: string;
  readonly password: string;
}

const CredentialsFileSchema = z.strictObject({
  version: z.literal(1),
  cameras: z
    .array(
      z
        .strictObject({
          id: z.string().min(1).max(63).optional(),
          endpointReference: z.string().min(1).max(200).optional(),
          xaddr: z.string().max(300).optional(),
          username: z.string().min(1).max(64),
          password: z.string().min(4, 'is too short to be a camera password').max(128),
        })
        .refine((c) => c.id !== undefined || c.endpointReference !== undefined, {
          message: 'needs an id or an endpointReference',
        }),
    )
    .max(1024),
});

export class CredentialStore {
  #byKey: ReadonlyMap<string, CameraCredentials>;
  #version: string;

  private constructor(
    readonly file: string,
    readonly redactor: Redactor,
    loaded: { byKey: ReadonlyMap<string, CameraCredentials>; version: string },
  ) {
    this.#byKey = loaded.byKey;
    this.#version = loaded.version;
  }

  /** Reads and checks the file; registers every password with `redactor`. */
  static async load(file: string, redactor: Redactor): Promise<CredentialStore> {
    return new CredentialStore(file, redactor, await read(file, redactor));
  }

  /**
   * Reads the file again if it changed (a technician added a camera). A file
   * that became invalid or readable by others is refused and the credentials
   * already loaded stay in use: the error says why. Resolves true on a reload.
   */
  async reloadIfChanged(): Promise<boolean> {
    let version: string;
    try {
      const stat = await fs.stat(this.file);
      version = versionOf(stat);
    } catch {
      version = 'unreadable';
    }
    if (version === this.#version) return false;
    const loaded = await read(this.file, this.redactor);
    this.#byKey = loaded.byKey;
    this.#version = loaded.version;
    return true;
  }

  /** Credentials for a camera, looked up by its annex id, then by its endpoint URN. */
  get(cameraId: string | null, endpointUrn?: string): CameraCredentials | undefined {
    return (
      (cameraId !== null ? this.#byKey.get(cameraId) : undefined) ??
      (endpointUrn !== undefined ? this.#byKey.get(endpointUrn) : undefined)
    );
  }
}

/** Changes with the content, a replacement of the file, or its mode. */
function versionOf(stat: {
  ino: number;
  size: number;
  mtimeMs: number;
  ctimeMs: number;
  mode: number;
}): string {
  return `${stat.ino}:${stat.size}:${stat.mtimeMs}:${stat.ctimeMs}:${stat.mode}`;
}

async function read(
  file: string,
  redactor: Redactor,
): Promise<{ byKey: ReadonlyMap<string, CameraCredentials>; version: string }> {
  let stat;
  try {
    stat = await fs.stat(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    throw new VigieError('file-unreadable', `cannot read camera credentials ${file}: ${code}`);
  }
  if ((stat.mode & 0o077) !== 0) {
    throw new VigieError(
      'credentials-exposed',
      `camera credentials ${file} are readable by others (mode ${(stat.mode & 0o777).toString(8)}): chmod 600 it`,
    );
  }
  let raw: unknown;
  try {
    raw = JSON.parse(await fs.readFile(file, 'utf8'));
  } catch {
    // The parser's message may quote the file's content: say only where.
    throw new VigieError('config-invalid', `camera credentials ${file} are not valid JSON`);
  }
  const parsed = CredentialsFileSchema.safeParse(raw);
  if (!parsed.success) {
    // Paths only: zod messages never quote the values, and values are secrets.
    const lines = formatIssues(parsed.error.issues).join('\n  ');
    throw new VigieError('config-invalid', `camera credentials ${file} are invalid:\n  ${lines}`);
  }
  const byKey = new Map<string, CameraCredentials>();
  for (const c of parsed.data.cameras) {
    const creds = { username: c.username, password: c.password };
    redactor.addSecret(c.password);
    if (c.id !== undefined) byKey.set(c.id, creds);
    if (c.endpointReference !== undefined) byKey.set(c.endpointReference, creds);
  }
  return { byKey, version: versionOf(stat) };
}
