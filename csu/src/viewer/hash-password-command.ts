/**
 * `vigie csu hash-password`: reads a viewer's password and prints the line to
 * paste as `passwordHash` in the relay's config. On a terminal it asks twice
 * without echo; otherwise it reads stdin to its end (one password, the final
 * newline dropped), so `printf %s "$PW" | vigie csu hash-password` works in scripts.
 */
import type { Readable, Writable } from 'node:stream';
import { VigieError } from '../../../lib/src/errors.js';
import {
  DEFAULT_SCRYPT_PARAMS,
  hashPassword,
  type ScryptParams,
} from '../../../lib/src/web/password-hash.js';

export interface HashPasswordCommandOptions {
  input?: Readable & { isTTY?: boolean; setRawMode?: (mode: boolean) => unknown }; // default process.stdin
  output?: Writable; // default process.stdout: the hash, one line
  prompt?: Writable; // default process.stderr: prompts, so stdout carries only the hash
  params?: ScryptParams; // default DEFAULT_SCRYPT_PARAMS
}

const MIN_LENGTH = 12;
const MAX_LENGTH = 1024;

/**
 * Reads the password, hashes it with scrypt and writes
 * `scrypt$N$r$p$salt$hash` and a newline to `output`; returns the hash.
 * Throws `config-invalid` for a password shorter than 12 characters or two
 * different entries on a terminal.
 */
export async function hashPasswordCommand(
  options: HashPasswordCommandOptions = {},
): Promise<string> {
  const input = options.input ?? process.stdin;
  const output = options.output ?? process.stdout;
  const prompt = options.prompt ?? process.stderr;
  let password: string;
  if (input.isTTY === true && input.setRawMode !== undefined) {
    password = await readHidden(input, prompt, 'Mot de passe : ');
    const again = await readHidden(input, prompt, 'Confirmez : ');
    if (again !== password) {
      throw new VigieError('config-invalid', 'the two passwords differ; nothing was hashed');
    }
  } else {
    password = (await readAll(input)).replace(/\r?\n$/, '');
  }
  if (password.length < MIN_LENGTH || password.length > MAX_LENGTH) {
    throw new VigieError(
      'config-invalid',
      `the password has ${password.length} characters; it needs ${MIN_LENGTH} to ${MAX_LENGTH}`,
    );
  }
  const hash = await hashPassword(password, options.params ?? DEFAULT_SCRYPT_PARAMS);
  output.write(`${hash}\n`);
  return hash;
}

async function readAll(input: Readable): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of input) {
    const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk));
    size += buf.length;
    if (size > MAX_LENGTH * 4) throw new VigieError('config-invalid', 'the password is too long');
    chunks.push(buf);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** Reads one line in raw mode, echoing nothing; Ctrl-C or Ctrl-D abandons. */
function readHidden(
  input: Readable & { setRawMode?: (mode: boolean) => unknown },
  prompt: Writable,
  label: string,
): Promise<string> {
  prompt.write(label);
  input.setRawMode?.(true);
  input.resume();
  return new Promise((resolve, reject) => {
    let text = '';
    const finish = (err: Error | null) => {
      input.off('data', onData);
      input.setRawMode?.(false);
      input.pause();
      prompt.write('\n');
      if (err) reject(err);
      else resolve(text);
    };
    const onData = (chunk: Buffer | string) => {
      for (const ch of chunk.toString()) {
        if (ch === '\r' || ch === '\n') return finish(null);
        if (ch === '\u0003' || ch === '\u0004') {
          return finish(new VigieError('config-invalid', 'password entry abandoned'));
        }
        if (ch === '\u007f' || ch === '\b') text = text.slice(0, -1);
        else if (text.length < MAX_LENGTH) text += ch;
      }
      return undefined;
    };
    input.on('data', onData);
  });
}
