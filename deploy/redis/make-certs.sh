#!/bin/sh
# Makes the certificates of the compose `tls` profile, once, into a directory (a volume there):
#   make-certs.sh <directory> [uid that will own server.key]
# A throwaway CA (ca.crt; its key is deleted once it has signed) and a server certificate for
# DNS:redis-tls, DNS:localhost and IP:127.0.0.1 (server.crt, server.key). Clients trust ca.crt
# (the API through NODE_EXTRA_CA_CERTS); Redis does not ask them for a certificate. For
# development only: production certificates come from your own PKI. Needs the openssl CLI.
set -eu

directory=$1
owner=${2:-}

mkdir -p "$directory"
cd "$directory"
if [ -s server.crt ] && openssl verify -CAfile ca.crt server.crt >/dev/null 2>&1; then
  echo "make-certs: $directory already holds a valid certificate"
  exit 0
fi

umask 077
trap 'rm -f ca.key server.csr server.ext openssl.log' EXIT
# openssl's progress dots stay out of the compose log; its complaint, if any, does not.
quiet() {
  if ! "$@" >openssl.log 2>&1; then
    cat openssl.log >&2
    exit 1
  fi
}
quiet openssl req -x509 -newkey rsa:2048 -nodes -sha256 -days 825 -subj '/CN=redkit compose CA' \
  -addext 'basicConstraints=critical,CA:TRUE' -addext 'keyUsage=critical,keyCertSign,cRLSign' \
  -keyout ca.key -out ca.crt
quiet openssl req -newkey rsa:2048 -nodes -sha256 -subj '/CN=redis-tls' \
  -keyout server.key -out server.csr
printf '%s\n' 'basicConstraints=critical,CA:FALSE' 'keyUsage=critical,digitalSignature,keyEncipherment' \
  'extendedKeyUsage=serverAuth' 'subjectAltName=DNS:redis-tls,DNS:localhost,IP:127.0.0.1' >server.ext
quiet openssl x509 -req -sha256 -days 825 -in server.csr -CA ca.crt -CAkey ca.key \
  -set_serial "0x$(openssl rand -hex 8)" -extfile server.ext -out server.crt
chmod 644 ca.crt server.crt
chmod 600 server.key
if [ -n "$owner" ]; then chown "$owner" server.key; fi
echo "make-certs: wrote ca.crt, server.crt and server.key to $directory"
