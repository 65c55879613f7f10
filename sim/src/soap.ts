/**
 * SOAP 1.2 envelopes as ONVIF uses them: reading a request (operation, and the
 * WS-Security UsernameToken if any) and writing responses and faults.
 * Fault shapes follow ONVIF Core 5.11 (env:Sender + ter:* subcodes); the
 * `onvif` and `node-onvif` clients both read Fault/Reason/Text.
 */
import {
  childNamed,
  escapeXml,
  readXml,
  type XmlElement,
  type XmlLimits,
  XmlRejected,
} from '../../lib/src/xml-reader.js';

export const NS = {
  soap: 'http://www.w3.org/2003/05/soap-envelope',
  wsse: 'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd',
  wsu: 'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd',
  tds: 'http://www.onvif.org/ver10/device/wsdl',
  trt: 'http://www.onvif.org/ver10/media/wsdl',
  tt: 'http://www.onvif.org/ver10/schema',
  ter: 'http://www.onvif.org/ver10/error',
  wsa: 'http://schemas.xmlsoap.org/ws/2004/08/addressing',
  wsd: 'http://schemas.xmlsoap.org/ws/2005/04/discovery',
  dn: 'http://www.onvif.org/ver10/network/wsdl',
} as const;

export const PASSWORD_DIGEST_TYPE =
  'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordDigest';

export interface UsernameToken {
  username: string;
  password: string;
  passwordType: string;
  nonceBase64: string;
  created: string;
}

export interface SoapMessage {
  header: XmlElement | undefined;
  /** The first element of the Body: the operation or the Probe. */
  operation: XmlElement;
  usernameToken: UsernameToken | undefined;
}

export type SoapRejectReason = 'soap-not-envelope' | 'soap-no-body' | 'soap-empty-body';

export class SoapRejected extends Error {
  override readonly name = 'SoapRejected';
  constructor(
    readonly reason: SoapRejectReason,
    message: string,
  ) {
    super(message);
  }
}

/** Reads a SOAP 1.2 envelope; throws XmlRejected or SoapRejected with a stable reason. */
export function readSoap(input: string | Uint8Array, limits?: Partial<XmlLimits>): SoapMessage {
  const env = readXml(input, limits);
  if (env.name !== 'Envelope' || env.ns !== NS.soap)
    throw new SoapRejected('soap-not-envelope', 'the root is not a SOAP 1.2 Envelope');
  const header = childNamed(env, NS.soap, 'Header');
  const body = childNamed(env, NS.soap, 'Body');
  if (!body) throw new SoapRejected('soap-no-body', 'the envelope has no Body');
  const operation = body.children[0];
  if (!operation) throw new SoapRejected('soap-empty-body', 'the Body is empty');
  return { header, operation, usernameToken: header ? usernameToken(header) : undefined };
}

function usernameToken(header: XmlElement): UsernameToken | undefined {
  const security = childNamed(header, NS.wsse, 'Security');
  const token = security && childNamed(security, NS.wsse, 'UsernameToken');
  if (!token) return undefined;
  const password = childNamed(token, NS.wsse, 'Password');
  return {
    username: (childNamed(token, NS.wsse, 'Username')?.text ?? '').trim(),
    password: (password?.text ?? '').trim(),
    passwordType: password?.attrs.get('Type') ?? '',
    nonceBase64: (childNamed(token, NS.wsse, 'Nonce')?.text ?? '').trim(),
    created: (childNamed(token, NS.wsu, 'Created')?.text ?? '').trim(),
  };
}

const ENVELOPE_OPEN =
  `<?xml version="1.0" encoding="UTF-8"?>` +
  `<s:Envelope xmlns:s="${NS.soap}" xmlns:tds="${NS.tds}" xmlns:trt="${NS.trt}"` +
  ` xmlns:tt="${NS.tt}" xmlns:ter="${NS.ter}">`;

/** A response envelope around an already-serialised body element. */
export function soapResponse(bodyXml: string): string {
  return `${ENVELOPE_OPEN}<s:Body>${bodyXml}</s:Body></s:Envelope>`;
}

export type FaultSubcode =
  | 'ter:NotAuthorized'
  | 'ter:WellFormed'
  | 'ter:ActionNotSupported'
  | 'ter:InvalidArgVal'
  | 'ter:NoProfile'
  | 'ter:InvalidStreamSetup';

export interface SoapFault {
  httpStatus: number;
  code: 's:Sender' | 's:Receiver';
  subcode: FaultSubcode;
  reason: string;
}

export function soapFault(fault: SoapFault): string {
  return soapResponse(
    `<s:Fault><s:Code><s:Value>${fault.code}</s:Value>` +
      `<s:Subcode><s:Value>${fault.subcode}</s:Value></s:Subcode></s:Code>` +
      `<s:Reason><s:Text xml:lang="en">${escapeXml(fault.reason)}</s:Text></s:Reason></s:Fault>`,
  );
}

/** ONVIF Core 5.12.2: a WS-Security failure is env:Sender/ter:NotAuthorized over HTTP 400. */
export const NOT_AUTHORIZED: SoapFault = {
  httpStatus: 400,
  code: 's:Sender',
  subcode: 'ter:NotAuthorized',
  reason: 'Sender not Authorized',
};

export function rejectionReason(err: unknown): string | undefined {
  if (err instanceof XmlRejected || err instanceof SoapRejected) return err.reason;
  return undefined;
}
