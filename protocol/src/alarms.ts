/**
 * Alarms an agent raises: conditions a person must look at. Stable codes, with
 * the French and English text shown on the console.
 */
import { z } from 'zod';
import type { Lang } from './reason-text.js';

export const ALARM_CODES = [
  'journal-gap',
  'journal-hash-mismatch',
  'journal-head-bad-signature',
  'journal-unwritable',
  'clock-untrusted',
  'camera-offline',
  'camera-unusable',
  'camera-identity-mismatch',
  'camera-not-annexed-seen',
  'policy-rejected',
  'tunnel-lost',
  'disk-low',
  'temperature-high',
  'enclosure-opened',
  'register-history-rewritten',
  'register-checkpoint-invalid',
  'register-entry-missing',
  'register-refused',
  'register-backlog-high',
] as const;
export type AlarmCode = (typeof ALARM_CODES)[number];
export const AlarmCodeSchema = z.enum(ALARM_CODES);
export const AlarmSeveritySchema = z.enum(['warning', 'critical']);

export const ALARM_LABELS: Readonly<Record<Lang, Readonly<Record<AlarmCode, string>>>> = {
  fr: {
    'journal-gap': 'trou dans la numérotation du journal',
    'journal-hash-mismatch': 'chaînage du journal rompu (empreinte différente)',
    'journal-head-bad-signature': 'signature de tête de journal invalide',
    'journal-unwritable': 'journal impossible à écrire : nouvelles transmissions refusées',
    'clock-untrusted': 'horloge non synchronisée de façon fiable',
    'camera-offline': 'caméra injoignable',
    'camera-unusable':
      "caméra de l'annexe inutilisable pour la transmission (identifiants, délai, codec H.265 seul)",
    'camera-identity-mismatch': "identité ONVIF de la caméra différente de l'annexe",
    'camera-not-annexed-seen': "caméra découverte sur le réseau mais absente de l'annexe",
    'policy-rejected': 'politique reçue refusée (signature, version ou contenu)',
    'tunnel-lost': 'liaison sécurisée perdue pendant une transmission',
    'disk-low': 'espace disque faible',
    'temperature-high': 'température élevée',
    'enclosure-opened': 'ouverture du boîtier détectée',
    'register-history-rewritten':
      "le registre central a réécrit son historique : envoi du journal suspendu jusqu'à intervention",
    'register-checkpoint-invalid':
      "point de contrôle du registre central invalide (signature ou clé) : envoi du journal suspendu jusqu'à intervention",
    'register-entry-missing':
      "le registre central a accusé réception d'entrées de ce boîtier absentes de son arbre signé : envoi du journal suspendu jusqu'à intervention",
    'register-refused': 'le registre central a refusé une partie du journal de ce boîtier',
    'register-backlog-high':
      'journal non transmis au registre central trop long, ou disque presque plein',
  },
  en: {
    'journal-gap': 'gap in the journal sequence',
    'journal-hash-mismatch': 'journal hash chain broken',
    'journal-head-bad-signature': 'journal head signature does not verify',
    'journal-unwritable': 'journal cannot be written: new transmissions refused',
    'clock-untrusted': 'clock not reliably synchronised',
    'camera-offline': 'camera unreachable',
    'camera-unusable': 'annexed camera cannot be transmitted (credentials, timeout, H.265 only)',
    'camera-identity-mismatch': "camera's ONVIF identity differs from the annex",
    'camera-not-annexed-seen': 'camera discovered on the network but not in the annex',
    'policy-rejected': 'received policy refused (signature, version or content)',
    'tunnel-lost': 'secure link lost during a transmission',
    'disk-low': 'disk space low',
    'temperature-high': 'temperature high',
    'enclosure-opened': 'box enclosure opened',
    'register-history-rewritten':
      'the central register rewrote its history: journal forwarding stopped until an operator acts',
    'register-checkpoint-invalid':
      "the central register's checkpoint does not verify (signature or key): journal forwarding stopped until an operator acts",
    'register-entry-missing':
      'the central register acknowledged entries of this box that its signed tree does not hold: journal forwarding stopped until an operator acts',
    'register-refused': "the central register refused part of this box's journal",
    'register-backlog-high':
      'journal backlog to the central register is high, or the disk is nearly full',
  },
};
