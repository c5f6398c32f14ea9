import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { isOnPath } from './redis-binaries.js';
import { runDirectory } from './run-directory.js';

const execFileAsync = promisify(execFile);

/** Absolute paths of a throwaway PKI: a CA, a server certificate it signed and a client certificate. */
export interface TlsFiles {
  /** The temp directory holding every file below. */
  dir: string;
  caCert: string;
  caKey: string;
  /** Valid for CN 127.0.0.1 and SAN IP:127.0.0.1, DNS:localhost. */
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
}

/**
 * Generates a CA, a server certificate for 127.0.0.1/localhost and a client certificate, all RSA 2048
 * and signed by the CA, with the `openssl` command line, into a fresh temp directory inside the run
 * directory (globalTeardown removes it).
 *
 * @example
 * const tls = await generateTlsFiles();
 * const server = await RedisServer.start({ tls });
 * const client = new Redis(server.url, { tls: { ca: readFileSync(tls.caCert) } });
 */
export async function generateTlsFiles(): Promise<TlsFiles> {
  if (!isOnPath('openssl')) {
    throw new Error(
      'openssl not found on PATH: install it with `apt-get install -y openssl` or `brew install openssl`',
    );
  }
  // Under the run directory, so globalTeardown removes it with everything else.
  const dir = await mkdtemp(join(runDirectory(), 'tls-'));
  const files: TlsFiles = {
    dir,
    caCert: join(dir, 'ca.crt'),
    caKey: join(dir, 'ca.key'),
    serverCert: join(dir, 'server.crt'),
    serverKey: join(dir, 'server.key'),
    clientCert: join(dir, 'client.crt'),
    clientKey: join(dir, 'client.key'),
  };
  // Explicit CA extensions rather than relying on the openssl.cnf defaults, which differ by platform.
  await openssl([
    ...'req -x509 -newkey rsa:2048 -nodes -sha256 -days 3650'.split(' '),
    ...['-subj', '/CN=redkit test CA'],
    ...['-addext', 'basicConstraints=critical,CA:TRUE'],
    ...['-addext', 'keyUsage=critical,keyCertSign,cRLSign'],
    ...['-keyout', files.caKey, '-out', files.caCert],
  ]);

  // Leaf certificates are independent of each other, so they are made in parallel.
  await Promise.all([
    signLeaf(files, 'server', '/CN=127.0.0.1', [
      'subjectAltName=IP:127.0.0.1,DNS:localhost',
      'extendedKeyUsage=serverAuth',
    ]),
    signLeaf(files, 'client', '/CN=redkit test client', ['extendedKeyUsage=clientAuth']),
  ]);
  return files;
}

/** Makes `<name>.key` and `<name>.crt` in `files.dir`, the certificate signed by the CA. */
async function signLeaf(files: TlsFiles, name: string, subject: string, extensions: string[]): Promise<void> {
  const key = join(files.dir, `${name}.key`);
  const csr = join(files.dir, `${name}.csr`);
  const extensionsFile = join(files.dir, `${name}.ext`);
  await writeFile(
    extensionsFile,
    [
      'basicConstraints=critical,CA:FALSE',
      'keyUsage=critical,digitalSignature,keyEncipherment',
      ...extensions,
    ]
      .map((line) => `${line}\n`)
      .join(''),
  );
  await openssl([
    'req',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-sha256',
    '-subj',
    subject,
    '-keyout',
    key,
    '-out',
    csr,
  ]);
  // A random serial instead of -CAcreateserial: the two leaves are signed concurrently and would race
  // on the shared ca.srl file.
  await openssl([
    ...'x509 -req -sha256 -days 3650'.split(' '),
    ...['-in', csr, '-CA', files.caCert, '-CAkey', files.caKey],
    ...['-set_serial', `0x${randomBytes(8).toString('hex')}`],
    ...['-extfile', extensionsFile, '-out', join(files.dir, `${name}.crt`)],
  ]);
}

async function openssl(args: string[]): Promise<void> {
  try {
    await execFileAsync('openssl', args, { timeout: 10_000 });
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr ?? '';
    throw new Error(`openssl ${args[0]} failed: ${(error as Error).message}\n${stderr}`, { cause: error });
  }
}
