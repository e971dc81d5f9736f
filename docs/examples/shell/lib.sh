# Helpers for signing with openssl and curl; `source` this file.
# Needs: bash, openssl, curl, jq (for GET /v1/keys), sed, tr, od.
# Binary data goes through stdin/stdout; nothing here keeps state.

# base64url without padding (JWS), and back.
b64url() { openssl base64 -A | tr '+/' '-_' | tr -d '='; }
b64url_decode() {
  local s
  s=$(tr -- '-_' '+/')
  while (( ${#s} % 4 )); do s="$s="; done
  printf '%s' "$s" | openssl base64 -d -A
}
# Standard base64 on one line (RFC 9421 byte sequences, Content-Digest, XML-DSig).
b64() { openssl base64 -A; }
b64_decode() { openssl base64 -d -A; }

hex() { od -An -v -tx1 | tr -d ' \n'; }
unhex() { printf '%b' "$(sed 's/../\\x&/g')"; }

# ECDSA P-256: openssl writes and reads DER (an ASN.1 SEQUENCE of two INTEGERs); JWS
# (ES256), RFC 9421 (ecdsa-p256-sha256) and XML-DSig (ECDSA-SHA256) carry raw r||s,
# 32 bytes each.
der_to_raw() {
  local r s
  { read -r r; read -r s; } < <(openssl asn1parse -inform DER | sed -n 's/.*INTEGER *:\([0-9A-Fa-f]*\)$/\1/p')
  r=$(printf '%064s' "$r" | tr ' ' 0)
  s=$(printf '%064s' "$s" | tr ' ' 0)
  printf '%s%s' "${r: -64}" "${s: -64}" | unhex
}
raw_to_der() {
  local raw r s
  raw=$(hex)
  r=$(_der_int "${raw:0:64}")
  s=$(_der_int "${raw:64:64}")
  printf '30%02x%s%s' $(( (${#r} + ${#s}) / 2 )) "$r" "$s" | unhex
}
_der_int() {
  local v=$1
  while [[ ${v:0:2} == 00 && ${#v} -gt 2 ]]; do v=${v:2}; done
  (( 16#${v:0:1} >= 8 )) && v="00$v"
  printf '02%02x%s' $(( ${#v} / 2 )) "$v"
}

# RFC 9530 Content-Digest of a file.
content_digest() { printf 'sha-256=:%s:' "$(openssl dgst -sha256 -binary "$1" | b64)"; }

# A new UUID for MessageId, and the time now (RFC 3339).
new_uuid() { cat /proc/sys/kernel/random/uuid 2>/dev/null || uuidgen | tr 'A-F' 'a-f'; }
now_rfc3339() { date -u +%Y-%m-%dT%H:%M:%SZ; }

# The adapter's public key KID from GET /v1/keys, as PEM, into FILE.
adapter_key() {
  local url=$1 kid=$2 file=$3
  curl -sSf "$url/v1/keys" | jq -er --arg kid "$kid" '.keys[] | select(.kid == $kid) | .pem' > "$file"
}

# A header's value from a `curl -D` dump (the last one, without the CR).
header_value() {
  local file=$1 name=$2
  tr -d '\r' < "$file" | sed -n "s/^$name: *//Ip" | tail -n 1
}
