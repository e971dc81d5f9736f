#!/usr/bin/env bash
# A payment notification from the sandbox bank RJHI (JSON, detached JWS, ES256), signed
# with openssl and sent with curl; the adapter's signed answer is verified the same way.
#
#   docs/examples/shell/jws-payment.sh                 # against scripts/sandbox
#   URL=http://127.0.0.1:8080 BILL=1000000000029 AMOUNT=150.00 docs/examples/shell/jws-payment.sh
#
# Exit 0 when the payment is POSTED and the answer's signature verifies.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.sh"
repo=$(cd "$here/../../.." && pwd)
URL=${URL:-http://127.0.0.1:8080}
BILL=${BILL:-1000000000010}
AMOUNT=${AMOUNT:-300.00}
KID=rjhi-test-2026-01
KEY="$repo/partners/sandbox-keys/$KID.key.pem"   # a PUBLIC TEST KEY: sandbox only
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# 1. The body: the exact bytes that are signed and sent (compact JSON, no final newline).
ref="RJHI-$(date -u +%Y%m%d)-$(new_uuid | cut -c1-8)"
now=$(now_rfc3339)
printf '{"messageId":"%s","timestamp":"%s","channel":"APP","bankPaymentRef":"%s","billNumber":"%s","amount":"%s","currency":"SAR","paidAt":"%s"}' \
  "$(new_uuid)" "$now" "$ref" "$BILL" "$AMOUNT" "$now" > "$work/body.json"

# 2. The detached JWS: BASE64URL(protected) ".." BASE64URL(signature), the signature over
#    BASE64URL(protected) "." BASE64URL(body). htm/htu bind it to this operation.
protected=$(printf '{"alg":"ES256","kid":"%s","htm":"POST","htu":"/v1/payments"}' "$KID" | b64url)
printf '%s.%s' "$protected" "$(b64url < "$work/body.json")" > "$work/signing-input"
# openssl signs ECDSA in DER; ES256 wants raw r||s (64 bytes): convert.
signature=$(openssl dgst -sha256 -sign "$KEY" -binary "$work/signing-input" | der_to_raw | b64url)

# 3. Send it.
status=$(curl -sS -o "$work/answer.json" -D "$work/headers" -w '%{http_code}' \
  -H 'Content-Type: application/json' -H 'X-Partner-Id: RJHI' \
  -H "X-JWS-Signature: $protected..$signature" \
  --data-binary @"$work/body.json" "$URL/v1/payments")
echo "HTTP $status"
cat "$work/answer.json"; echo

# 4. Verify the answer: its protected header names the adapter's key (kid), published at
#    GET /v1/keys; the signature covers the answer's exact bytes.
answer_jws=$(header_value "$work/headers" X-JWS-Signature)
answer_protected=${answer_jws%%..*}
kid=$(printf '%s' "$answer_protected" | b64url_decode | jq -r .kid)
adapter_key "$URL" "$kid" "$work/adapter.pem"
printf '%s.%s' "$answer_protected" "$(b64url < "$work/answer.json")" > "$work/answer-input"
printf '%s' "${answer_jws##*..}" | b64url_decode | raw_to_der > "$work/answer.sig"
openssl dgst -sha256 -verify "$work/adapter.pem" -signature "$work/answer.sig" "$work/answer-input" >/dev/null
echo "answer signature verified with $kid"

[[ $status == 200 ]] && jq -e '.status == "POSTED"' "$work/answer.json" >/dev/null
