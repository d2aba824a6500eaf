#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Regenerates the TLS test material of the HTTPS tests (tests/integration/test_jira.c):
# a test CA, a server certificate it signs for 127.0.0.1 and localhost, and a
# second, unrelated CA. Test-only keys: they protect nothing. Valid until 2126.
set -eu
cd "$(dirname "$0")"
days=36500
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days $days \
	-subj "/CN=threatsync test CA" -keyout ca.key -out ca.pem \
	-addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign"
openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
	-subj "/CN=127.0.0.1" -keyout server.key -out server.csr
printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' >server.ext
openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days $days \
	-extfile server.ext -out server.pem
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days $days \
	-subj "/CN=some other CA" -keyout other-ca.key -out other-ca.pem
rm -f server.csr server.ext ca.srl ca.key other-ca.key
