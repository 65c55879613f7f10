#!/usr/bin/env node
/**
 * Process matters only: argument parsing, exit codes, and turning errors into
 * one clear line for the person at the terminal (full stack with VIGIE_DEBUG=1).
 * Exit codes: 0 success, 1 refused or failed (a VigieError with its code),
 * 2 usage error, 70 internal error (a bug: please report the stack).
 */
import { readFileSync } from 'node:fs';
import { CommanderError } from 'commander';
import { isVigieError } from '../../lib/src/errors.js';
import { redact } from '../../lib/src/redact.js';
import { buildProgram } from './program.js';

function packageVersion(): string {
  for (const rel of ['../../package.json', '../../../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(rel, import.meta.url), 'utf8')) as {
        name?: string;
        version?: string;
      };
      if (pkg.name === 'vigie' && pkg.version) return pkg.version;
    } catch {
      // Not at this depth: the source tree and dist/ differ by one level.
      continue;
    }
  }
  return 'unknown';
}

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram(packageVersion());
  program.exitOverride();
  try {
    await program.parseAsync(argv);
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      // Help and version are "errors" to commander with exit code 0.
      return err.exitCode === 0 ? 0 : 2;
    }
    if (isVigieError(err)) {
      process.stderr.write(`vigie: ${redact(err.message)} [${err.code}]\n`);
      if (process.env.VIGIE_DEBUG === '1' && err.stack)
        process.stderr.write(redact(err.stack) + '\n');
      return 1;
    }
    const stack = err instanceof Error ? (err.stack ?? err.message) : String(err);
    process.stderr.write(`vigie: internal error, please report it:\n${redact(stack)}\n`);
    return 70;
  }
}

process.exitCode = await main(process.argv);
