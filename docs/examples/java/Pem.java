import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyFactory;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.spec.PKCS8EncodedKeySpec;
import java.security.spec.X509EncodedKeySpec;
import java.util.Base64;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Keys as the JDK reads them: PKCS#8 private keys and the adapter's published PEMs. */
final class Pem {
    private Pem() {}

    /** The DER bytes of a PEM: base64 between the BEGIN and END lines. */
    static byte[] der(String pem) {
        String base64 = pem.replaceAll("-----(BEGIN|END) [A-Z ]+-----", "").replaceAll("\\s", "");
        return Base64.getDecoder().decode(base64);
    }

    /** A PKCS#8 private key file ("BEGIN PRIVATE KEY"), e.g. a sandbox test key. */
    static PrivateKey privateKey(Path file, String algorithm) throws Exception {
        byte[] der = der(Files.readString(file));
        return KeyFactory.getInstance(algorithm).generatePrivate(new PKCS8EncodedKeySpec(der));
    }

    /**
     * The adapter's public key `kid` from GET /v1/keys (a JWKS whose entries carry `pem`).
     * A few regular expressions keep this example free of libraries; use your JSON parser.
     */
    static PublicKey adapterKey(HttpClient http, String url, String kid) throws Exception {
        HttpRequest request = HttpRequest.newBuilder(URI.create(url + "/v1/keys")).GET().build();
        String jwks = http.send(request, HttpResponse.BodyHandlers.ofString()).body();
        Matcher entry = Pattern.compile("\\{[^{}]*\"kid\":\\s*\"" + Pattern.quote(kid) + "\"[^{}]*\\}")
                .matcher(jwks);
        if (!entry.find()) {
            throw new IllegalStateException("no key " + kid + " at " + url + "/v1/keys");
        }
        String pem = member(entry.group(), "pem").replace("\\n", "\n").replace("\\/", "/");
        String algorithm = member(entry.group(), "kty").equals("RSA") ? "RSA" : "EC";
        return KeyFactory.getInstance(algorithm).generatePublic(new X509EncodedKeySpec(der(pem)));
    }

    /** A string member of a flat JSON object. */
    static String member(String json, String name) {
        Matcher value = Pattern.compile("\"" + name + "\":\\s*\"([^\"]*)\"").matcher(json);
        if (!value.find()) {
            throw new IllegalStateException("no " + name + " in " + json);
        }
        return value.group(1);
    }
}
