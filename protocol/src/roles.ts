/**
 * Operator roles and the commands each may sign. Operators in the watch room
 * open, extend and close sessions; an administrator may close (one or all) but
 * never opens: opening is the watch room's decision after the phone call.
 */
import { z } from 'zod';
import type { CommandType } from './commands.js';

export const ROLES = ['operator', 'admin'] as const;
export type Role = (typeof ROLES)[number];
export const RoleSchema = z.enum(ROLES);

export const ROLE_COMMANDS: Readonly<Record<Role, readonly CommandType[]>> = {
  operator: ['session.open', 'session.extend', 'session.close'],
  admin: ['session.close', 'sessions.close-all'],
};

export function rolesAllow(roles: readonly Role[], type: CommandType): boolean {
  return roles.some((role) => ROLE_COMMANDS[role].includes(type));
}
