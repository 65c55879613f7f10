/**
 * Why an agent refuses a command: stable codes carried by `command.reject`
 * events and the register, each with a French and an English message that
 * says what to do next. Codes never change meaning once released.
 */
import { z } from 'zod';
import type { ErrorCode } from '../../lib/src/errors.js';
import {
  or,
  renderAdvice,
  sp,
  versionSuffix,
  type Advice,
  type Lang,
  type ReasonParams,
} from './reason-text.js';

export const REFUSAL_CODES = [
  'size',
  'malformed',
  'schema',
  'signature',
  'unknown-key',
  'key-not-valid',
  'role',
  'recipient',
  'purpose',
  'site',
  'camera-not-annexed',
  'camera-not-transmissible',
  'stale',
  'replay',
  'convention',
  'time-window',
  'clock-untrusted',
  'retained',
  'journal-unwritable',
  'policy-missing',
  'session-unknown',
  'session-exists',
  'session-limit',
  'ttl',
  'certificate-expiring',
  'relay-unreachable',
  'relay-rejected',
] as const;
export type RefusalCode = (typeof REFUSAL_CODES)[number];
export const RefusalCodeSchema = z.enum(REFUSAL_CODES);

type Messages = Readonly<Record<RefusalCode, Advice>>;

const FR: Messages = {
  size: {
    what: (p) =>
      `la commande est trop grande (${or(p.sizeBytes, '?')} octets, maximum ${or(p.maxBytes, '?')})`,
    next: () => 'la renvoyer depuis la console Vigie ; si cela se répète, prévenir le support',
  },
  malformed: {
    what: () => "la commande n'est pas un message signé bien formé",
    next: () => 'la renvoyer depuis la console Vigie ; si cela se répète, prévenir le support',
  },
  schema: {
    what: (p) => `la commande est incomplète ou invalide${p.detail ? ` (${p.detail})` : ''}`,
    next: () => 'vérifier la version de la console Vigie et renvoyer la commande',
  },
  signature: {
    what: () => 'la signature de la commande ne correspond pas à son contenu',
    next: () =>
      "renvoyer la commande ; si cela se répète, prévenir l'administrateur (possible altération)",
  },
  'unknown-key': {
    what: (p) =>
      `la clé ${or(p.kid, 'de signature')} n'est pas dans la politique en vigueur${versionSuffix(p)}`,
    next: () => "demander à l'administrateur EMH d'ajouter la clé de l'opérateur à la politique",
  },
  'key-not-valid': {
    what: (p) =>
      `la clé ${or(p.kid, "de l'opérateur")} n'est pas valide à cette date${p.until ? ` (${p.until})` : ''}`,
    next: () => "demander à l'administrateur EMH de renouveler l'habilitation de l'opérateur",
  },
  role: {
    what: (p) =>
      `le rôle ${or(p.role, "de l'opérateur")} ne permet pas la commande${sp(p.commandType)}`,
    next: () => 'faire envoyer la commande par un opérateur habilité',
  },
  recipient: {
    what: (p) =>
      `le destinataire${sp(p.recipient)} n'est pas autorisé pour cet opérateur${versionSuffix(p)}`,
    next: () =>
      'choisir un destinataire autorisé (CSU ou DIPN) ou demander la mise à jour de la politique',
  },
  purpose: {
    what: (p) =>
      `la finalité${sp(p.purpose)} n'est pas autorisée par la politique${versionSuffix(p)}`,
    next: () => "choisir une finalité de l'article 2 de la convention autorisée par la politique",
  },
  site: {
    what: (p) =>
      `la commande vise le site ${or(p.siteId, 'inconnu')}, qui n'est pas celui de ce boîtier`,
    next: () => 'vérifier le site choisi dans la console et renvoyer la commande',
  },
  'camera-not-annexed': {
    what: (p) => `la caméra${sp(p.camera)} n'est pas dans l'annexe en vigueur${versionSuffix(p)}`,
    next: () => 'demander son ajout (article 6)',
  },
  'camera-not-transmissible': {
    what: (p) =>
      `la caméra${sp(p.camera)} est dans l'annexe${versionSuffix(p)} mais n'est pas transmissible`,
    next: () =>
      "choisir une autre caméra ; pour la rendre transmissible, suivre la procédure de l'article 6",
  },
  stale: {
    what: () => 'la commande est expirée ou datée dans le futur (horloges désynchronisées ?)',
    next: () => "renvoyer la commande ; si cela se répète, vérifier l'heure du poste de la console",
  },
  replay: {
    what: () => 'cette commande a déjà été reçue (rejeu)',
    next: () =>
      "envoyer une nouvelle commande depuis la console ; prévenir l'administrateur si vous ne l'avez pas renvoyée",
  },
  convention: {
    what: (p) =>
      `la convention n'est pas en vigueur${p.until ? ` (fin de période le ${p.until})` : ''}`,
    next: () =>
      "l'administrateur EMH doit publier la reconduction ; aucune transmission n'est possible d'ici là",
  },
  'time-window': {
    what: () => 'la demande est hors des plages horaires définies (article 4)',
    next: () =>
      "en cas d'urgence décidée par un officier, renvoyer avec le déclencheur « urgence » et son nom",
  },
  'clock-untrusted': {
    what: () => "l'horloge du boîtier n'est pas synchronisée de façon fiable",
    next: () => 'prévenir le support technique (synchronisation NTP du site)',
  },
  retained: {
    what: () => "la commande est arrivée comme message retenu, ce qu'aucune console n'envoie",
    next: () =>
      "renvoyer la commande ; prévenir l'administrateur (configuration du serveur de messages)",
  },
  'journal-unwritable': {
    what: () =>
      "le journal du boîtier ne peut pas être écrit, et aucune transmission ne s'ouvre sans journal",
    next: () => 'prévenir le support technique (stockage du boîtier)',
  },
  'policy-missing': {
    what: () => "le boîtier n'a pas de politique signée valide",
    next: () => "demander à l'administrateur EMH de publier la politique",
  },
  'session-unknown': {
    what: (p) => `la transmission${sp(p.sessionId)} n'existe pas ou est déjà fermée`,
    next: () => "rafraîchir la console ; rien d'autre à faire si elle est déjà fermée",
  },
  'session-exists': {
    what: (p) => `une transmission${sp(p.sessionId)} existe déjà avec cet identifiant`,
    next: () => 'ouvrir une nouvelle transmission depuis la console',
  },
  'session-limit': {
    what: () => 'le nombre maximal de transmissions simultanées est atteint sur ce site',
    next: () => "fermer une transmission terminée avant d'en ouvrir une autre",
  },
  ttl: {
    what: (p) => `la durée demandée n'est pas acceptable${p.detail ? ` (${p.detail})` : ''}`,
    next: () =>
      'demander une durée plus longue que la durée actuelle et dans la limite du destinataire',
  },
  'certificate-expiring': {
    what: (p) =>
      `le certificat du boîtier ou du destinataire expire trop tôt${p.until ? ` (${p.until})` : ''}`,
    next: () => 'prévenir le support technique (renouvellement des certificats)',
  },
  'relay-unreachable': {
    what: (p) => `le relais du destinataire${sp(p.recipient)} est injoignable`,
    next: () =>
      'prévenir le destinataire par téléphone et réessayer ; si cela persiste, prévenir le support',
  },
  'relay-rejected': {
    what: (p) =>
      `le relais du destinataire${sp(p.recipient)} a refusé la transmission${p.detail ? ` (${p.detail})` : ''}`,
    next: () => 'vérifier par téléphone avec le destinataire, puis prévenir le support',
  },
};

const EN: Messages = {
  size: {
    what: (p) =>
      `the command is too large (${or(p.sizeBytes, '?')} bytes, maximum ${or(p.maxBytes, '?')})`,
    next: () => 'send it again from the Vigie console; if it happens again, call support',
  },
  malformed: {
    what: () => 'the command is not a well-formed signed message',
    next: () => 'send it again from the Vigie console; if it happens again, call support',
  },
  schema: {
    what: (p) => `the command is incomplete or invalid${p.detail ? ` (${p.detail})` : ''}`,
    next: () => 'check the Vigie console version and send the command again',
  },
  signature: {
    what: () => 'the command signature does not match its content',
    next: () => 'send it again; if it happens again, tell the administrator (possible tampering)',
  },
  'unknown-key': {
    what: (p) =>
      `key ${or(p.kid, 'of the signer')} is not in the policy in force${versionSuffix(p)}`,
    next: () => "ask the EMH administrator to add the operator's key to the policy",
  },
  'key-not-valid': {
    what: (p) =>
      `key ${or(p.kid, 'of the operator')} is not valid at this date${p.until ? ` (${p.until})` : ''}`,
    next: () => "ask the EMH administrator to renew the operator's authorisation",
  },
  role: {
    what: (p) =>
      `role ${or(p.role, 'of the operator')} does not allow command ${or(p.commandType, 'sent')}`,
    next: () => 'have an authorised operator send the command',
  },
  recipient: {
    what: (p) => `recipient${sp(p.recipient)} is not allowed for this operator${versionSuffix(p)}`,
    next: () => 'choose an allowed recipient (CSU or DIPN) or ask for a policy update',
  },
  purpose: {
    what: (p) => `purpose${sp(p.purpose)} is not allowed by the policy${versionSuffix(p)}`,
    next: () => 'choose a purpose from Article 2 of the convention that the policy allows',
  },
  site: {
    what: (p) =>
      `the command targets site ${or(p.siteId, 'unknown')}, which is not this box's site`,
    next: () => 'check the site chosen in the console and send the command again',
  },
  'camera-not-annexed': {
    what: (p) => `camera${sp(p.camera)} is not in the annex in force${versionSuffix(p)}`,
    next: () => 'request its addition (Article 6)',
  },
  'camera-not-transmissible': {
    what: (p) =>
      `camera${sp(p.camera)} is in the annex${versionSuffix(p)} but is not transmissible`,
    next: () => 'choose another camera; to make it transmissible, follow the Article 6 procedure',
  },
  stale: {
    what: () => 'the command has expired or is dated in the future (clocks out of sync?)',
    next: () => "send it again; if it happens again, check the console computer's clock",
  },
  replay: {
    what: () => 'this command was already received (replay)',
    next: () =>
      'send a new command from the console; tell the administrator if you did not resend it',
  },
  convention: {
    what: (p) => `the convention is not in force${p.until ? ` (period end: ${p.until})` : ''}`,
    next: () =>
      'the EMH administrator must publish the renewal; no transmission is possible until then',
  },
  'time-window': {
    what: () => 'the request is outside the defined time windows (Article 4)',
    next: () =>
      'in an emergency decided by an officer, send again with trigger "urgence" and their name',
  },
  'clock-untrusted': {
    what: () => "the box's clock is not reliably synchronised",
    next: () => "call technical support (the site's NTP synchronisation)",
  },
  retained: {
    what: () => 'the command arrived as a retained message, which no console sends',
    next: () => 'send it again; tell the administrator (message broker configuration)',
  },
  'journal-unwritable': {
    what: () => "the box's journal cannot be written, and no transmission opens without a journal",
    next: () => "call technical support (the box's storage)",
  },
  'policy-missing': {
    what: () => 'the box has no valid signed policy',
    next: () => 'ask the EMH administrator to publish the policy',
  },
  'session-unknown': {
    what: (p) => `transmission${sp(p.sessionId)} does not exist or is already closed`,
    next: () => 'refresh the console; nothing else to do if it is already closed',
  },
  'session-exists': {
    what: (p) => `a transmission${sp(p.sessionId)} already exists with this id`,
    next: () => 'open a new transmission from the console',
  },
  'session-limit': {
    what: () => 'the maximum number of simultaneous transmissions is reached on this site',
    next: () => 'close a finished transmission before opening another one',
  },
  ttl: {
    what: (p) => `the requested duration is not acceptable${p.detail ? ` (${p.detail})` : ''}`,
    next: () => "ask for a duration longer than the current one and within the recipient's limit",
  },
  'certificate-expiring': {
    what: (p) =>
      `the box's or the recipient's certificate expires too soon${p.until ? ` (${p.until})` : ''}`,
    next: () => 'call technical support (certificate renewal)',
  },
  'relay-unreachable': {
    what: (p) => `the relay of recipient${sp(p.recipient)} cannot be reached`,
    next: () => 'warn the recipient by phone and try again; if it persists, call support',
  },
  'relay-rejected': {
    what: (p) =>
      `the relay of recipient${sp(p.recipient)} refused the transmission${p.detail ? ` (${p.detail})` : ''}`,
    next: () => 'check with the recipient by phone, then call support',
  },
};

export const REFUSAL_MESSAGES: Readonly<Record<Lang, Messages>> = { fr: FR, en: EN };

/** The message for an operator's screen, French by default. */
export function refusalMessage(
  code: RefusalCode,
  params: ReasonParams = {},
  lang: Lang = 'fr',
): string {
  return renderAdvice(REFUSAL_MESSAGES[lang][code], lang, params);
}

const REFUSAL_FOR_ERROR: Partial<Record<ErrorCode, RefusalCode>> = {
  'envelope-too-large': 'size',
  'envelope-too-deep': 'malformed',
  'envelope-malformed': 'malformed',
  'payload-malformed': 'malformed',
  'envelope-bad-version': 'signature',
  'envelope-bad-alg': 'signature',
  'envelope-signature-not-canonical': 'signature',
  'envelope-bad-signature': 'signature',
  'envelope-unknown-kid': 'unknown-key',
  'payload-invalid': 'schema',
};

/** The refusal code an agent reports when envelope or payload verification fails. */
export function refusalForError(code: ErrorCode): RefusalCode {
  return REFUSAL_FOR_ERROR[code] ?? 'malformed';
}
