/**
 * Typed errors with stable codes. A code is part of our contract: it reaches
 * operators' screens, the agent's events and the register, so it never changes
 * meaning once released. The catalogue below is mirrored in docs/errors.md and a
 * test keeps both in sync.
 */
export const ERROR_CATALOGUE = {
  // configuration and input files
  'config-invalid': 'a configuration or input file does not match its schema',
  'file-unreadable': 'a file could not be read',
  'file-exists': 'refusing to overwrite an existing file',
  // PKI
  'pki-not-initialised': 'the PKI directory has no CA material; run `vigie pki init`',
  'pki-already-initialised': 'the PKI directory already holds CA material',
  'pki-unknown-certificate': 'no certificate with that serial or name was issued by this PKI',
  'pki-index-invalid': 'the PKI index (index.json) is unreadable or does not match its schema',
  'pki-locked': 'another `vigie pki` command holds the PKI directory lock',
  'pki-invalid-name': 'a site, box, service or person name, DNS name or IP address is not allowed',
  'pki-invalid-request': 'the PKI request is not allowed (validity, reason or target)',
  'pki-ambiguous-name': 'the name matches several certificates; give the serial instead',
  'pki-already-revoked': 'the certificate is already revoked',
  'tls-material-invalid': 'the TLS certificate, key, CA bundle or CRL files are unusable together',
  'tls-peer-refused':
    'the TLS peer is authenticated but not allowed here (identity kind or issuing CA)',
  // signed envelopes (protocol)
  'envelope-too-large': 'the signed message is larger than the limit for its kind',
  'envelope-malformed': 'the signed message is not a well-formed envelope',
  'envelope-too-deep': 'the message nests deeper than allowed',
  'envelope-bad-version': 'the envelope version is not supported',
  'envelope-bad-alg': 'the envelope algorithm is not the one we accept',
  'envelope-unknown-kid': 'the envelope is signed by a key we do not know',
  'envelope-signature-not-canonical':
    'the signature scalar S is not reduced (S >= L): a malleable variant of some signature',
  'envelope-bad-signature': 'the signature does not verify over the shipped bytes',
  'payload-malformed': 'the signed payload is not valid JSON',
  'payload-invalid': 'the signed payload does not match its schema',
  // policy bundle
  'policy-version-not-newer': 'the policy bundle is not newer than the one in force',
  'policy-invalid': 'the policy file does not match the policy schema',
  // central
  'central-policy-refused':
    'the central service refuses to publish a policy bundle that does not verify against the administrator key',
  'central-listen-failed': 'the central MQTT broker could not listen on its configured address',
  // operator console
  'broker-unreachable': 'the MQTT broker could not be reached or refused the connection',
  'no-reply': 'the box did not answer the command in time',
  'command-refused': 'the box refused the command; the message says why and what to do next',
  'session-not-found': 'no online box reports that session',
  // journal
  'journal-unwritable':
    'the journal entry could not be made durable (disk full, read-only or I/O error); no new session opens until it can',
  'journal-invalid':
    'the file is not a Vigie journal, has a newer schema, or belongs to another box',
  'journal-key-unsupported': 'journal heads are signed with Ed25519 or ECDSA P-256 keys only',
  'journal-broken':
    'the journal does not verify: an entry or a signed head was altered, removed or reordered',
  // central register
  'register-invalid':
    'the file is not a Vigie register or has a newer schema; it is refused, never migrated by guesswork',
  'register-broken':
    'the register does not verify: a chain, a signed head, a Merkle node or a checkpoint was altered, removed or reordered; the message names where',
  'register-unwritable':
    'the register could not make an ingested batch or a checkpoint durable (disk full, read-only or I/O error)',
  'register-key-unsupported': 'the register signs its checkpoints with an Ed25519 key only',
  'register-listen-failed':
    "the register's gRPC ingest service could not listen on its configured address",
  // simulated building
  'sim-rtsp-unavailable':
    'the RTSP simulator (GStreamer) could not start: a Debian package is missing',
  'sim-rtsp-start-timeout': 'the RTSP simulator did not report it was listening in time',
  // cameras
  'credentials-exposed': 'a credentials file is readable by other users; it must be mode 0600',
  'camera-timeout': 'a camera did not answer in time',
  'camera-unusable': 'a camera answered but could not be described (authentication, SOAP fault)',
  // receiving centre's viewer
  'viewer-listen-failed': "the centre's web viewer could not listen on its configured address",
  // media (live view)
  'media-malformed':
    'a camera stream remuxed by ffmpeg is not well-formed fragmented MP4, or a box exceeds its size bound',
  'media-codec-unsupported': 'a camera stream has no H.264 or H.265 video track a viewer can play',
} as const;

export type ErrorCode = keyof typeof ERROR_CATALOGUE;

export class VigieError extends Error {
  override readonly name = 'VigieError';
  constructor(
    readonly code: ErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export function isVigieError(err: unknown, code?: ErrorCode): err is VigieError {
  return err instanceof VigieError && (code === undefined || err.code === code);
}
