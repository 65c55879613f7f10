/**
 * Purposes of a transmission: the risks listed in Article 2 of the convention,
 * one code each. The French label is the convention's own wording, shown to
 * operators and written in register exports.
 */
import { z } from 'zod';

export const PURPOSES = [
  'securite-personnes-biens',
  'atteinte-patrimoine',
  'occupation-parties-communes',
  'trafics',
  'intervention-forces-securite',
] as const;
export type Purpose = (typeof PURPOSES)[number];
export const PurposeSchema = z.enum(PURPOSES);

export const PURPOSE_LABELS: Readonly<Record<Purpose, { fr: string; en: string }>> = {
  'securite-personnes-biens': {
    fr: 'sécurité des personnes et des biens',
    en: 'safety of people and property',
  },
  'atteinte-patrimoine': {
    fr: 'atteinte au patrimoine et protection du bon fonctionnement des dispositifs de sécurité et de sûreté',
    en: 'damage to property and protection of the safety and security equipment',
  },
  'occupation-parties-communes': {
    fr: 'occupation des parties communes non conforme aux usages, perturbant la tranquillité des habitants',
    en: 'improper occupation of common areas disturbing the residents',
  },
  trafics: {
    fr: 'prévention et lutte contre les trafics',
    en: 'prevention of and fight against trafficking',
  },
  'intervention-forces-securite': {
    fr: 'intervention des forces de sécurité intérieure',
    en: 'intervention of the internal security forces',
  },
};
