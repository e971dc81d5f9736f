#!/usr/bin/env bash
# Ask the sandbox why a signature fails (contract section 10): the jws request of
# jws-payment.sh, but with the ECDSA signature left in openssl's DER form, a usual
# mistake. POST /sandbox/v1/diagnose takes the exact headers and body plus
# X-Diagnose-Path, and answers which check failed and what the adapter computed.
#
#   docs/examples/shell/diagnose.sh                    # against scripts/sandbox
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.sh"
repo=$(cd "$here/../../.." && pwd)
URL=${URL:-http://127.0.0.1:8080}
KID=rjhi-test-2026-01
KEY="$repo/partners/sandbox-keys/$KID.key.pem"   # a PUBLIC TEST KEY: sandbox only
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

now=$(now_rfc3339)
printf '{"messageId":"%s","timestamp":"%s","channel":"APP","bankPaymentRef":"RJHI-DIAG-1","billNumber":"1000000000010","amount":"300.00","currency":"SAR","paidAt":"%s"}' \
  "$(new_uuid)" "$now" "$now" > "$work/body.json"
protected=$(printf '{"alg":"ES256","kid":"%s","htm":"POST","htu":"/v1/payments"}' "$KID" | b64url)
printf '%s.%s' "$protected" "$(b64url < "$work/body.json")" > "$work/signing-input"
# The mistake: no der_to_raw here.
signature=$(openssl dgst -sha256 -sign "$KEY" -binary "$work/signing-input" | b64url)

curl -sS -H 'Content-Type: application/json' -H 'X-Partner-Id: RJHI' \
  -H "X-JWS-Signature: $protected..$signature" -H 'X-Diagnose-Path: /v1/payments' \
  --data-binary @"$work/body.json" "$URL/sandbox/v1/diagnose" | jq .
