#!/usr/bin/env bash
# A payment notification from the sandbox bank RIBL (JSON, RFC 9421 HTTP Message
# Signatures, ed25519), signed with openssl and sent with curl; the adapter's signed
# answer is verified the same way.
#
#   docs/examples/shell/http-sig-payment.sh            # against scripts/sandbox
#   URL=... BILL=... AMOUNT=... docs/examples/shell/http-sig-payment.sh
#
# Exit 0 when the payment is POSTED and the answer's signature verifies.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.sh"
repo=$(cd "$here/../../.." && pwd)
URL=${URL:-http://127.0.0.1:8080}
BILL=${BILL:-1000000000010}
AMOUNT=${AMOUNT:-300.00}
KID=ribl-test-2026-01
KEY="$repo/partners/sandbox-keys/$KID.key.pem"   # a PUBLIC TEST KEY: sandbox only
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# 1. The body: the exact bytes that are sent.
ref="RIBL-$(date -u +%Y%m%d)-$(new_uuid | cut -c1-8)"
now=$(now_rfc3339)
printf '{"messageId":"%s","timestamp":"%s","channel":"APP","bankPaymentRef":"%s","billNumber":"%s","amount":"%s","currency":"SAR","paidAt":"%s"}' \
  "$(new_uuid)" "$now" "$ref" "$BILL" "$AMOUNT" "$now" > "$work/body.json"

# 2. Content-Digest binds the body; the signature covers the contract's five components.
digest=$(content_digest "$work/body.json")
params="(\"@method\" \"@path\" \"content-type\" \"content-digest\" \"x-partner-id\");created=$(date +%s);keyid=\"$KID\";alg=\"ed25519\""
# The signature base (RFC 9421 section 2.5): one line per component, no final newline.
# @path is the path alone: no scheme, host or query.
printf '"@method": POST\n"@path": /v1/payments\n"content-type": application/json\n"content-digest": %s\n"x-partner-id": RIBL\n"@signature-params": %s' \
  "$digest" "$params" > "$work/base"
signature=$(openssl pkeyutl -sign -inkey "$KEY" -rawin -in "$work/base" | b64)

# 3. Send it.
status=$(curl -sS -o "$work/answer.json" -D "$work/headers" -w '%{http_code}' \
  -H 'Content-Type: application/json' -H 'X-Partner-Id: RIBL' \
  -H "Content-Digest: $digest" -H "Signature-Input: sig1=$params" -H "Signature: sig1=:$signature:" \
  --data-binary @"$work/body.json" "$URL/v1/payments")
echo "HTTP $status"
cat "$work/answer.json"; echo

# 4. Verify the answer: its Content-Digest matches its body, and its signature covers
#    ("@status" "content-type" "content-digest") with the adapter's key (keyid).
answer_digest=$(header_value "$work/headers" Content-Digest)
[[ $answer_digest == "$(content_digest "$work/answer.json")" ]]
answer_params=$(header_value "$work/headers" Signature-Input | sed 's/^sig1=//')
kid=$(printf '%s' "$answer_params" | sed -n 's/.*keyid="\([^"]*\)".*/\1/p')
printf '"@status": %s\n"content-type": %s\n"content-digest": %s\n"@signature-params": %s' \
  "$status" "$(header_value "$work/headers" Content-Type)" "$answer_digest" "$answer_params" > "$work/answer-base"
adapter_key "$URL" "$kid" "$work/adapter.pem"
# The sandbox adapter signs with ecdsa-p256-sha256: raw r||s, which openssl wants as DER.
header_value "$work/headers" Signature | sed 's/^sig1=:\(.*\):$/\1/' | b64_decode | raw_to_der > "$work/answer.sig"
openssl dgst -sha256 -verify "$work/adapter.pem" -signature "$work/answer.sig" "$work/answer-base" >/dev/null
echo "answer signature verified with $kid"

[[ $status == 200 ]] && jq -e '.status == "POSTED"' "$work/answer.json" >/dev/null
