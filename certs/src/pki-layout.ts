/**
 * Where everything lives in a PKI directory (docs/pki.md shows the tree).
 * Pure path arithmetic: no I/O here.
 */
import path from 'node:path';
import type { CaPurpose } from './identity.js';

export const INTERMEDIATE_PURPOSES = ['boxes', 'services', 'people'] as const;
export type IntermediatePurpose = (typeof INTERMEDIATE_PURPOSES)[number];

/** Root first: the order of ca-bundle.pem and crl-bundle.pem. */
export const ALL_CA_PURPOSES: readonly CaPurpose[] = ['root', ...INTERMEDIATE_PURPOSES];

export interface PkiPaths {
  dir: string;
  index: string;
  lock: string;
  caBundle: string;
  crlBundle: string;
  caCert(purpose: CaPurpose): string;
  caKey(purpose: CaPurpose): string;
  crl(purpose: CaPurpose): string;
  issuedCert(serial: string): string;
}

export function pkiPaths(dir: string): PkiPaths {
  const root = path.resolve(dir);
  return {
    dir: root,
    index: path.join(root, 'index.json'),
    lock: path.join(root, '.lock'),
    caBundle: path.join(root, 'ca-bundle.pem'),
    crlBundle: path.join(root, 'crl-bundle.pem'),
    caCert: (purpose) => path.join(root, purpose, 'ca.crt'),
    caKey: (purpose) => path.join(root, purpose, 'ca.key'),
    crl: (purpose) => path.join(root, purpose, 'crl.pem'),
    issuedCert: (serial) => path.join(root, 'issued', `${serial}.crt`),
  };
}

/** Files written for an issued leaf by `--out DIR`. */
export interface LeafOutputPaths {
  cert: string;
  chain: string;
  key: string;
}

export function leafOutputPaths(outDir: string): LeafOutputPaths {
  const root = path.resolve(outDir);
  return {
    cert: path.join(root, 'cert.pem'),
    chain: path.join(root, 'chain.pem'),
    key: path.join(root, 'key.pem'),
  };
}
