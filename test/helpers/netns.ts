/**
 * Network namespaces for the multicast tests and the discovery bench: WS-Discovery
 * multicast never leaves the root namespace, so every multicast step runs in a
 * namespace made here (lo up, multicast on, 224.0.0.0/4 routed to lo) and
 * deleted by the caller, failure included.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';

const run = promisify(execFile);

export async function ip(...args: string[]): Promise<string> {
  const { stdout } = await run('ip', args, { timeout: 10_000 });
  return stdout;
}

/** A new namespace named `<prefix><random>`, or why none could be made (not root). */
export async function addNamespace(
  prefix: string,
): Promise<{ name: string; error: string | null }> {
  const name = prefix + randomBytes(4).toString('hex');
  try {
    await ip('netns', 'add', name);
    return { name, error: null };
  } catch (err) {
    return { name, error: String(err).split('\n')[0] ?? String(err) };
  }
}

/** lo up with multicast and the 224.0.0.0/4 route, inside `ns` only. */
export async function multicastOnLoopback(ns: string): Promise<void> {
  const inNs = (...args: string[]) => ip('netns', 'exec', ns, 'ip', ...args);
  await inNs('link', 'set', 'lo', 'up');
  await inNs('link', 'set', 'lo', 'multicast', 'on');
  await inNs('route', 'add', '224.0.0.0/4', 'dev', 'lo');
}

/** The namespaces whose names start with `prefix` (to prove none is left behind). */
export async function namespacesWithPrefix(prefix: string): Promise<string[]> {
  return (await ip('netns', 'list'))
    .split('\n')
    .map((l) => l.split(' ')[0] ?? '')
    .filter((n) => n.startsWith(prefix));
}

/** Runs a TypeScript file under node (tsx) inside `ns`; resolves with its stdout. */
export async function runTsInNamespace(
  ns: string,
  file: string,
  env: Record<string, string>,
  timeoutMs = 30_000,
): Promise<string> {
  const { stdout } = await run(
    'ip',
    ['netns', 'exec', ns, process.execPath, '--import=tsx', file],
    { timeout: timeoutMs, env: { ...process.env, ...env } },
  );
  return stdout;
}
