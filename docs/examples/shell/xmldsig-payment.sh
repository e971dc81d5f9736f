#!/usr/bin/env bash
# A payment notification from the sandbox bank NCBK (XML, enveloped XML-DSig,
# ECDSA-SHA256), signed with xmlsec1 and sent with curl; the adapter's signed answer is
# verified with xmlsec1 and the adapter's published key only.
#
#   docs/examples/shell/xmldsig-payment.sh             # against scripts/sandbox
#   URL=... BILL=... AMOUNT=... docs/examples/shell/xmldsig-payment.sh
#
# Exit 0 when the payment is POSTED and the answer's signature verifies.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.sh"
repo=$(cd "$here/../../.." && pwd)
URL=${URL:-http://127.0.0.1:8080}
BILL=${BILL:-1000000000010}
AMOUNT=${AMOUNT:-300.00}
KID=ncbk-test-2026-01
KEY="$repo/partners/sandbox-keys/$KID.key.pem"   # a PUBLIC TEST KEY: sandbox only
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# 1. The message with an empty signature template as the root's last child: one
#    Reference URI="" (the whole document), enveloped-signature then exclusive c14n,
#    SHA-256, ECDSA-SHA256, and KeyInfo/KeyName = our registered key id.
ref="NCBK-$(date -u +%Y%m%d)-$(new_uuid | cut -c1-8)"
now=$(now_rfc3339)
cat > "$work/request.xml" <<XML
<?xml version="1.0" encoding="UTF-8"?>
<PaymentNotification xmlns="urn:bank-adapter:v1">
  <MessageId>$(new_uuid)</MessageId>
  <Timestamp>$now</Timestamp>
  <Channel>ATM</Channel>
  <TerminalId>ATM-RUH-0042</TerminalId>
  <BankPaymentRef>$ref</BankPaymentRef>
  <BillNumber>$BILL</BillNumber>
  <Amount>$AMOUNT</Amount>
  <Currency>SAR</Currency>
  <PaidAt>$now</PaidAt>
  <ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#">
    <ds:SignedInfo>
      <ds:CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/>
      <ds:SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256"/>
      <ds:Reference URI="">
        <ds:Transforms>
          <ds:Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"/>
          <ds:Transform Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/>
        </ds:Transforms>
        <ds:DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/>
        <ds:DigestValue/>
      </ds:Reference>
    </ds:SignedInfo>
    <ds:SignatureValue/>
    <ds:KeyInfo><ds:KeyName>$KID</ds:KeyName></ds:KeyInfo>
  </ds:Signature>
</PaymentNotification>
XML

# 2. xmlsec1 fills DigestValue and SignatureValue; send the file it writes, unchanged.
xmlsec1 --sign --privkey-pem "$KEY" --output "$work/signed.xml" "$work/request.xml"

# 3. Send it.
status=$(curl -sS -o "$work/answer.xml" -w '%{http_code}' \
  -H 'Content-Type: application/xml' -H 'X-Partner-Id: NCBK' \
  --data-binary @"$work/signed.xml" "$URL/v1/payments")
echo "HTTP $status"
cat "$work/answer.xml"; echo

# 4. Verify the answer with the adapter's key named by its KeyName, and no key carried
#    in the message (xmlsec1 1.2 would otherwise accept an embedded KeyValue).
kid=$(sed -n 's/.*<ds:KeyName>\([^<]*\)<\/ds:KeyName>.*/\1/p' "$work/answer.xml")
adapter_key "$URL" "$kid" "$work/adapter.pem"
xmlsec1 --verify --enabled-key-data key-name --pubkey-pem:"$kid" "$work/adapter.pem" "$work/answer.xml" 2>/dev/null
echo "answer signature verified with $kid"

[[ $status == 200 ]] && grep -q '<Status>POSTED</Status>' "$work/answer.xml"
