import { generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { isIPv4 } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * A self-signed P-256 certificate for `127.0.0.1` and `localhost`, built with node:crypto
 * alone: no openssl binary, no package, nothing fetched. The certificate is its own trust
 * anchor, so a client trusts it through `SSL_CERT_FILE` (Go, gh) or `ca` (Node).
 */
export interface TestCertificate {
  readonly certPem: string;
  readonly keyPem: string;
  /** Both written to a private temp directory, for configs that take file paths. */
  readonly certFile: string;
  readonly keyFile: string;
}

// X.690 DER: tag, definite length, content.
function der(tag: number, content: Buffer): Buffer {
  const n = content.length;
  let length: Buffer;
  if (n < 0x80) length = Buffer.from([n]);
  else if (n < 0x100) length = Buffer.from([0x81, n]);
  else if (n < 0x10000) length = Buffer.from([0x82, n >> 8, n & 0xff]);
  else throw new Error('DER content too long for this builder');
  return Buffer.concat([Buffer.from([tag]), length, content]);
}

const sequence = (...items: Buffer[]): Buffer => der(0x30, Buffer.concat(items));
const set = (...items: Buffer[]): Buffer => der(0x31, Buffer.concat(items));
const explicit = (n: number, inner: Buffer): Buffer => der(0xa0 + n, inner);
const octetString = (content: Buffer): Buffer => der(0x04, content);
const bitString = (content: Buffer): Buffer => der(0x03, Buffer.concat([Buffer.from([0]), content]));
const utf8String = (text: string): Buffer => der(0x0c, Buffer.from(text, 'utf8'));
const boolean = (value: boolean): Buffer => der(0x01, Buffer.from([value ? 0xff : 0]));

function integer(bytes: Buffer): Buffer {
  // A leading 1 bit would make the integer negative.
  return der(0x02, (bytes[0] ?? 0) & 0x80 ? Buffer.concat([Buffer.from([0]), bytes]) : bytes);
}

function oid(dotted: string): Buffer {
  const [a = 0, b = 0, ...rest] = dotted.split('.').map(Number);
  const out = [40 * a + b];
  for (const arc of rest) {
    const base128 = [arc & 0x7f];
    for (let v = arc >>> 7; v > 0; v >>>= 7) base128.unshift((v & 0x7f) | 0x80);
    out.push(...base128);
  }
  return der(0x06, Buffer.from(out));
}

function utcTime(date: Date): Buffer {
  // YYMMDDHHMMSSZ (RFC 5280 §4.1.2.5.1: UTCTime through 2049).
  const iso = date.toISOString();
  const text = `${iso.slice(2, 4)}${iso.slice(5, 7)}${iso.slice(8, 10)}${iso.slice(11, 13)}${iso.slice(14, 16)}${iso.slice(17, 19)}Z`;
  return der(0x17, Buffer.from(text, 'ascii'));
}

const ECDSA_WITH_SHA256 = '1.2.840.10045.4.3.2';
const COMMON_NAME = '2.5.4.3';
const SUBJECT_ALT_NAME = '2.5.29.17';
const BASIC_CONSTRAINTS = '2.5.29.19';
const EXTENDED_KEY_USAGE = '2.5.29.37';
const SERVER_AUTH = '1.3.6.1.5.5.7.3.1';

function extension(id: string, critical: boolean, value: Buffer): Buffer {
  return sequence(oid(id), ...(critical ? [boolean(true)] : []), octetString(value));
}

function altNames(names: readonly string[]): Buffer {
  return sequence(
    ...names.map(
      (name) =>
        isIPv4(name)
          ? der(0x87, Buffer.from(name.split('.').map(Number))) // [7] iPAddress
          : der(0x82, Buffer.from(name, 'ascii')), // [2] dNSName
    ),
  );
}

export function selfSignedCertificate(names: readonly string[] = ['127.0.0.1', 'localhost']): {
  certPem: string;
  keyPem: string;
} {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const serial = randomBytes(16);
  serial[0] = ((serial[0] ?? 0) & 0x7f) | 0x01;
  const algorithm = sequence(oid(ECDSA_WITH_SHA256));
  const name = sequence(set(sequence(oid(COMMON_NAME), utf8String(names[0] ?? 'localhost'))));
  const now = Date.now();
  const tbs = sequence(
    explicit(0, integer(Buffer.from([2]))), // v3
    integer(serial),
    algorithm,
    name,
    sequence(utcTime(new Date(now - 3_600_000)), utcTime(new Date(now + 2 * 86_400_000))),
    name,
    publicKey.export({ type: 'spki', format: 'der' }),
    explicit(
      3,
      sequence(
        // CA:TRUE as `openssl req -x509` makes it: the certificate is its own issuer.
        extension(BASIC_CONSTRAINTS, true, sequence(boolean(true))),
        extension(EXTENDED_KEY_USAGE, false, sequence(oid(SERVER_AUTH))),
        extension(SUBJECT_ALT_NAME, false, altNames(names)),
      ),
    ),
  );
  const signature = sign('sha256', tbs, privateKey); // ECDSA: DER-encoded (r, s)
  const certificate = sequence(tbs, algorithm, bitString(signature));
  const base64 = certificate.toString('base64').replace(/.{64}/g, '$&\n');
  return {
    certPem: `-----BEGIN CERTIFICATE-----\n${base64.replace(/\n$/, '')}\n-----END CERTIFICATE-----\n`,
    keyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
  };
}

/** A fresh certificate and key, written to files for a config's `tls` key. */
export async function writeTestCertificate(names?: readonly string[]): Promise<TestCertificate> {
  const { certPem, keyPem } = selfSignedCertificate(names);
  const dir = await mkdtemp(join(tmpdir(), 'patgate-tls-'));
  const certFile = join(dir, 'cert.pem');
  const keyFile = join(dir, 'key.pem');
  await writeFile(certFile, certPem);
  await writeFile(keyFile, keyPem, { mode: 0o600 });
  return { certPem, keyPem, certFile, keyFile };
}
