/** Each configuration schema and the doc page that must carry its reference table. */
import type { z } from 'zod';
import { AgentConfigSchema } from '../../agent/src/config/agent-config.js';
import { CentralConfigSchema } from '../../central/src/config.js';
import { OpConfigSchema } from '../../central/src/console/op-config.js';
import { CsuConfigSchema } from '../../csu/src/config.js';
import { RegisterFileSchema } from '../../central/src/register/register-config.js';

export const CONFIG_SCHEMAS: readonly { name: string; schema: z.ZodType; doc: string }[] = [
  { name: 'agent', schema: AgentConfigSchema, doc: 'docs/agent.md' },
  { name: 'op', schema: OpConfigSchema, doc: 'docs/console.md' },
  { name: 'central', schema: CentralConfigSchema, doc: 'docs/central.md' },
  { name: 'csu', schema: CsuConfigSchema, doc: 'docs/relay.md' },
  { name: 'register', schema: RegisterFileSchema, doc: 'docs/register.md' },
];
