/**
 * `vigie agent register-resume --config agent.yaml`: the operator's act that
 * lets a box send to its register again after the outbox stopped (a history
 * rewritten, a checkpoint that does not verify). It says what stopped it,
 * clears the stop and, with --forget-checkpoint, the kept checkpoint too (a
 * register rebuilt on purpose: its new tree cannot extend the old one). The
 * agent reads the stop at start: restart it afterwards.
 */
import { loadAgentConfig } from '../config/agent-config.js';
import { journalFileIn, SqliteKeyValues } from '../journal/index.js';

export interface ResumeOptions {
  readonly config: string;
  readonly forgetCheckpoint: boolean;
}

export async function registerResume(options: ResumeOptions): Promise<string> {
  const config = await loadAgentConfig(options.config);
  const kv = new SqliteKeyValues({ file: journalFileIn(config.dataDir) });
  kv.open();
  try {
    const stop = kv.registerStop();
    const lines = stop
      ? [
          `forwarding to register ${stop.kid} was stopped on ${new Date(stop.wallMs).toISOString()}: ${stop.code}`,
          `  ${stop.detail}`,
        ]
      : ['forwarding to the register was not stopped'];
    kv.setRegisterStop(null);
    if (options.forgetCheckpoint) {
      kv.setRegisterTreeHead({ kid: '', checkpoint: null });
      lines.push('the kept checkpoint is forgotten: the next one is trusted as the first');
    }
    lines.push('cleared: restart the agent to send again');
    return lines.join('\n') + '\n';
  } finally {
    kv.close();
  }
}
