/**
 * Why a session ended: a fixed list, journaled with every close and shown in the
 * register. The session closes first, then journals one of these.
 */
import { z } from 'zod';
import type { Lang } from './reason-text.js';

export const CLOSE_REASONS = [
  'close-command',
  'intervention-ended',
  'ttl-expired',
  'close-all',
  'operator-revoked',
  'camera-revoked',
  'recipient-revoked',
  'convention-lapsed',
  'certificate-expired',
  'relay-closed',
  'tunnel-lost',
  'agent-restart',
  'shutdown',
  'journal-unwritable',
] as const;
export type CloseReason = (typeof CLOSE_REASONS)[number];
export const CloseReasonSchema = z.enum(CLOSE_REASONS);

export const CLOSE_REASON_LABELS: Readonly<Record<Lang, Readonly<Record<CloseReason, string>>>> = {
  fr: {
    'close-command': "fermée par l'opérateur EMH",
    'intervention-ended': "fin de l'intervention des forces de sécurité intérieure",
    'ttl-expired': 'durée autorisée écoulée',
    'close-all': 'fermeture générale de toutes les transmissions',
    'operator-revoked': "habilitation de l'opérateur retirée par la nouvelle politique",
    'camera-revoked': "caméra retirée de l'annexe ou rendue non transmissible",
    'recipient-revoked': 'destinataire retiré de la politique',
    'convention-lapsed': 'fin de la période de la convention en vigueur',
    'certificate-expired': 'certificat du boîtier ou du relais arrivé à expiration',
    'relay-closed': 'fermée par le relais du destinataire',
    'tunnel-lost': 'liaison sécurisée perdue au-delà du délai de grâce',
    'agent-restart': 'redémarrage du boîtier : la transmission ne reprend jamais seule',
    shutdown: 'arrêt du boîtier',
    'journal-unwritable': 'journal du boîtier impossible à écrire (fermeture par sécurité)',
  },
  en: {
    'close-command': 'closed by the EMH operator',
    'intervention-ended': 'the security forces reported the end of the intervention',
    'ttl-expired': 'the authorised duration elapsed',
    'close-all': 'all transmissions were closed at once',
    'operator-revoked': "the operator's authorisation was withdrawn by a new policy",
    'camera-revoked': 'the camera was removed from the annex or made non-transmissible',
    'recipient-revoked': 'the recipient was removed from the policy',
    'convention-lapsed': 'the period of the convention in force ended',
    'certificate-expired': "the box's or the relay's certificate expired",
    'relay-closed': "closed by the recipient's relay",
    'tunnel-lost': 'the secure link was lost for longer than the grace period',
    'agent-restart': 'the box restarted: a transmission never resumes by itself',
    shutdown: 'the box shut down',
    'journal-unwritable': "the box's journal could not be written (closed to fail safe)",
  },
};
