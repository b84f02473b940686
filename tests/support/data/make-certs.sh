#!/usr/bin/env bash
# Regenerates the test PKI in this directory (tests/support/data/).
#
#   bash tests/support/data/make-certs.sh
#
# Needs the `openssl` CLI (>= 1.1.1; `apt-get install openssl`). Every key is
# ECDSA P-256 and every certificate is valid 2020-01-01..2120-01-01, except
# expired.pem.
#
#   ca.pem / ca.key              test CA (trust anchor for everything below)
#   server.pem / server.key      leaf by ca: DNS:localhost, IP:127.0.0.1, IP:::1
#   wronghost.pem / .key         leaf by ca: DNS:example.invalid only
#   expired.pem / .key           leaf by ca, SAN as server, valid 2000-01-01..2001-01-01
#   other-ca.pem / other-ca.key  a second, unrelated CA
#   untrusted.pem / .key         leaf by other-ca, SAN as server (unknown-issuer case)
#   client.pem / client.key      clientAuth leaf by ca (CN=curlew-test-client)
#
# The *.pem leaf files hold only the leaf certificate (no chain); keys are
# PKCS#8 ("BEGIN PRIVATE KEY"). Running the script again replaces all files.
set -euo pipefail
cd "$(dirname "$0")"

# Fixed validity window (backdated so a machine clock that lags the
# generation time does not matter): 2020-01-01 .. 2120-01-01.
START=20200101000000Z
END=21200101000000Z
SAN_SERVER="DNS:localhost,IP:127.0.0.1,IP:::1"
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

# `openssl x509 -req`/`req -x509` on OpenSSL < 3.4 cannot set explicit dates,
# so every certificate is issued through a throwaway `openssl ca` database.
mkdir "$TMP/db"; : > "$TMP/db/index.txt"; openssl rand -hex 16 > "$TMP/db/serial"
cat > "$TMP/ca.cnf" <<CNF
[ca]
default_ca = test
[test]
database = $TMP/db/index.txt
serial = $TMP/db/serial
new_certs_dir = $TMP/db
default_md = sha256
policy = any
unique_subject = no
copy_extensions = none
email_in_dn = no
[any]
commonName = supplied
CNF

key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }

# issue NAME CN EXTFILE START END (CA_NAME | -selfsign)
issue() {
  key "$1.key"
  openssl req -new -key "$1.key" -subj "/CN=$2" -out "$TMP/$1.csr"
  if [ "$6" = -selfsign ]; then
    signer=(-selfsign -keyfile "$1.key")
  else
    signer=(-cert "$6.pem" -keyfile "$6.key")
  fi
  openssl ca -batch -config "$TMP/ca.cnf" "${signer[@]}" -startdate "$4" -enddate "$5" \
    -extfile "$3" -notext -in "$TMP/$1.csr" -out "$1.pem" 2>/dev/null
}

cat > "$TMP/ca.ext" <<EXT
basicConstraints=critical,CA:TRUE
keyUsage=critical,keyCertSign,cRLSign
subjectKeyIdentifier=hash
EXT

# leaf_ext FILE SAN EKU
leaf_ext() {
  cat > "$1" <<EXT
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=$3
subjectKeyIdentifier=hash
authorityKeyIdentifier=keyid
${2:+subjectAltName=$2}
EXT
}
leaf_ext "$TMP/server.ext" "$SAN_SERVER" serverAuth
leaf_ext "$TMP/wronghost.ext" "DNS:example.invalid" serverAuth
leaf_ext "$TMP/client.ext" "" clientAuth

issue ca        "curlew test CA"              "$TMP/ca.ext"        $START $END -selfsign
issue other-ca  "curlew other (untrusted) CA" "$TMP/ca.ext"        $START $END -selfsign
issue server    localhost                     "$TMP/server.ext"    $START $END ca
issue wronghost example.invalid               "$TMP/wronghost.ext" $START $END ca
issue expired   localhost                     "$TMP/server.ext"    20000101000000Z 20010101000000Z ca
issue untrusted localhost                     "$TMP/server.ext"    $START $END other-ca
issue client    curlew-test-client            "$TMP/client.ext"    $START $END ca

chmod 644 ./*.pem ./*.key
for f in server wronghost expired client; do openssl verify -CAfile ca.pem "$f.pem" >/dev/null 2>&1 || [ $f = expired ]; done
openssl verify -CAfile other-ca.pem untrusted.pem >/dev/null
echo "test certificates written to $(pwd)"
