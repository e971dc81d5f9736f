import static java.nio.charset.StandardCharsets.US_ASCII;
import static java.nio.charset.StandardCharsets.UTF_8;

import java.math.BigInteger;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.Signature;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Arrays;
import java.util.Base64;
import java.util.UUID;

/**
 * A payment notification from the sandbox bank RJHI: JSON signed with a detached JWS
 * (ES256) using java.security only, and the adapter's signed answer verified.
 *
 * <pre>
 *   javac -d out docs/examples/java/*.java
 *   URL=http://127.0.0.1:8080 BILL=1000000000010 AMOUNT=300.00 java -cp out JwsPayment
 * </pre>
 *
 * Exits 0 when the payment is POSTED and the answer's signature verifies.
 */
public final class JwsPayment {
    private static final String KID = "rjhi-test-2026-01"; // its key is a PUBLIC TEST KEY

    public static void main(String[] args) throws Exception {
        String url = env("URL", "http://127.0.0.1:8080");
        Path partners = Path.of(env("PARTNERS", "partners"));
        PrivateKey key = Pem.privateKey(partners.resolve("sandbox-keys/" + KID + ".key.pem"), "EC");

        // 1. The body: the exact bytes that are signed and sent.
        String now = Instant.now().truncatedTo(ChronoUnit.SECONDS).toString();
        byte[] body = String.format(
                "{\"messageId\":\"%s\",\"timestamp\":\"%s\",\"channel\":\"APP\","
                        + "\"bankPaymentRef\":\"RJHI-JAVA-%s\",\"billNumber\":\"%s\","
                        + "\"amount\":\"%s\",\"currency\":\"SAR\",\"paidAt\":\"%s\"}",
                UUID.randomUUID(), now, UUID.randomUUID().toString().substring(0, 8),
                env("BILL", "1000000000010"), env("AMOUNT", "300.00"), now)
                .getBytes(UTF_8);

        // 2. Detached JWS: the signature covers BASE64URL(protected) "." BASE64URL(body);
        //    the header carries BASE64URL(protected) ".." BASE64URL(signature).
        String header = "{\"alg\":\"ES256\",\"kid\":\"" + KID + "\",\"htm\":\"POST\",\"htu\":\"/v1/payments\"}";
        String protectedHeader = b64url(header.getBytes(UTF_8));
        Signature signer = Signature.getInstance("SHA256withECDSA");
        signer.initSign(key);
        signer.update((protectedHeader + "." + b64url(body)).getBytes(US_ASCII));
        // The JDK's SHA256withECDSA gives DER; ES256 carries raw r||s (64 bytes). Java 9+
        // also offers "SHA256withECDSAinP1363Format", which gives r||s directly.
        String jws = protectedHeader + ".." + b64url(derToRaw(signer.sign()));

        // 3. Send it.
        HttpClient http = HttpClient.newHttpClient();
        HttpRequest request = HttpRequest.newBuilder(URI.create(url + "/v1/payments"))
                .header("Content-Type", "application/json")
                .header("X-Partner-Id", "RJHI")
                .header("X-JWS-Signature", jws)
                .POST(HttpRequest.BodyPublishers.ofByteArray(body))
                .build();
        HttpResponse<byte[]> answer = http.send(request, HttpResponse.BodyHandlers.ofByteArray());
        String text = new String(answer.body(), UTF_8);
        System.out.println("HTTP " + answer.statusCode());
        System.out.println(text);

        // 4. Verify the answer over its exact bytes with the adapter's key (kid).
        String answerJws = answer.headers().firstValue("X-JWS-Signature").orElseThrow();
        String answerProtected = answerJws.substring(0, answerJws.indexOf(".."));
        String kid = Pem.member(new String(b64urlDecode(answerProtected), UTF_8), "kid");
        PublicKey adapterKey = Pem.adapterKey(http, url, kid);
        Signature verifier = Signature.getInstance("SHA256withECDSA");
        verifier.initVerify(adapterKey);
        verifier.update((answerProtected + "." + b64url(answer.body())).getBytes(US_ASCII));
        byte[] raw = b64urlDecode(answerJws.substring(answerJws.indexOf("..") + 2));
        if (!verifier.verify(rawToDer(raw))) {
            throw new SecurityException("the answer's signature does not verify");
        }
        System.out.println("answer signature verified with " + kid);
        System.exit(answer.statusCode() == 200 && text.contains("\"status\":\"POSTED\"") ? 0 : 1);
    }

    /** DER SEQUENCE { INTEGER r, INTEGER s } to r||s, 32 bytes each (P-256). */
    static byte[] derToRaw(byte[] der) {
        int offset = der[1] == (byte) 0x81 ? 3 : 2; // SEQUENCE header, short or long length
        byte[] raw = new byte[64];
        for (int half = 0; half < 2; half++) {
            int length = der[offset + 1];
            byte[] integer = Arrays.copyOfRange(der, offset + 2, offset + 2 + length);
            byte[] unsigned = new BigInteger(1, integer).toByteArray(); // may lead with 0x00
            int copy = Math.min(unsigned.length, 32);
            System.arraycopy(unsigned, unsigned.length - copy, raw, half * 32 + 32 - copy, copy);
            offset += 2 + length;
        }
        return raw;
    }

    /** r||s to DER SEQUENCE { INTEGER r, INTEGER s }, as the JDK's verifier wants it. */
    static byte[] rawToDer(byte[] raw) {
        byte[] r = new BigInteger(1, Arrays.copyOfRange(raw, 0, 32)).toByteArray();
        byte[] s = new BigInteger(1, Arrays.copyOfRange(raw, 32, 64)).toByteArray();
        byte[] der = new byte[6 + r.length + s.length];
        der[0] = 0x30;
        der[1] = (byte) (4 + r.length + s.length);
        der[2] = 0x02;
        der[3] = (byte) r.length;
        System.arraycopy(r, 0, der, 4, r.length);
        der[4 + r.length] = 0x02;
        der[5 + r.length] = (byte) s.length;
        System.arraycopy(s, 0, der, 6 + r.length, s.length);
        return der;
    }

    static String b64url(byte[] data) {
        return Base64.getUrlEncoder().withoutPadding().encodeToString(data);
    }

    static byte[] b64urlDecode(String text) {
        return Base64.getUrlDecoder().decode(text);
    }

    static String env(String name, String fallback) {
        String value = System.getenv(name);
        return value == null || value.isEmpty() ? fallback : value;
    }
}
