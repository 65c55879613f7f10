/**
 * Structured, namespaced logging. One JSON object per line on stderr (journald
 * and the CLI both read it), every string passed through the redactor. Debug
 * lines are built lazily: a closure that only runs when debug is on.
 */
import { Redactor } from './redact.js';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
const LEVELS: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface LogSink {
  write(line: string): void;
}

export interface LoggerOptions {
  level?: LogLevel; // default 'info'
  sink?: LogSink; // default process.stderr
  redactor?: Redactor;
  now?: () => Date;
}

export class Logger {
  readonly #level: number;
  readonly #sink: LogSink;
  readonly #redactor: Redactor;
  readonly #now: () => Date;

  constructor(
    readonly namespace: string,
    readonly options: LoggerOptions = {},
  ) {
    this.#level = LEVELS[options.level ?? 'info'];
    this.#sink = options.sink ?? process.stderr;
    this.#redactor = options.redactor ?? new Redactor();
    this.#now = options.now ?? (() => new Date());
  }

  child(sub: string): Logger {
    return new Logger(`${this.namespace}:${sub}`, this.options);
  }

  debug(msg: string, fields?: () => Record<string, unknown>): void {
    if (this.#level <= LEVELS.debug) this.#emit('debug', msg, fields?.());
  }
  info(msg: string, fields?: Record<string, unknown>): void {
    if (this.#level <= LEVELS.info) this.#emit('info', msg, fields);
  }
  warn(msg: string, fields?: Record<string, unknown>): void {
    if (this.#level <= LEVELS.warn) this.#emit('warn', msg, fields);
  }
  error(msg: string, err?: unknown, fields?: Record<string, unknown>): void {
    const errFields =
      err instanceof Error
        ? { err: { name: err.name, message: err.message, stack: err.stack, ...errorCode(err) } }
        : err === undefined
          ? {}
          : { err: typeof err === 'string' ? err : JSON.stringify(err) };
    this.#emit('error', msg, { ...fields, ...errFields });
  }

  #emit(level: LogLevel, msg: string, fields?: Record<string, unknown>): void {
    const entry = {
      time: this.#now().toISOString(),
      level,
      ns: this.namespace,
      msg: this.#redactor.redact(msg),
      ...(fields ? (this.#redactor.redactValue(fields) as Record<string, unknown>) : {}),
    };
    this.#sink.write(JSON.stringify(entry) + '\n');
  }
}

function errorCode(err: Error): { code?: string } {
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' ? { code } : {};
}
