import static java.nio.charset.StandardCharsets.UTF_8;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.security.Key;
import java.security.PrivateKey;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.UUID;
import javax.xml.XMLConstants;
import javax.xml.crypto.AlgorithmMethod;
import javax.xml.crypto.KeySelector;
import javax.xml.crypto.KeySelectorException;
import javax.xml.crypto.KeySelectorResult;
import javax.xml.crypto.XMLCryptoContext;
import javax.xml.crypto.XMLStructure;
import javax.xml.crypto.dsig.CanonicalizationMethod;
import javax.xml.crypto.dsig.DigestMethod;
import javax.xml.crypto.dsig.Reference;
import javax.xml.crypto.dsig.SignatureMethod;
import javax.xml.crypto.dsig.SignedInfo;
import javax.xml.crypto.dsig.Transform;
import javax.xml.crypto.dsig.XMLSignature;
import javax.xml.crypto.dsig.XMLSignatureFactory;
import javax.xml.crypto.dsig.dom.DOMSignContext;
import javax.xml.crypto.dsig.dom.DOMValidateContext;
import javax.xml.crypto.dsig.keyinfo.KeyInfo;
import javax.xml.crypto.dsig.keyinfo.KeyInfoFactory;
import javax.xml.crypto.dsig.keyinfo.KeyName;
import javax.xml.crypto.dsig.spec.C14NMethodParameterSpec;
import javax.xml.crypto.dsig.spec.TransformParameterSpec;
import javax.xml.parsers.DocumentBuilderFactory;
import javax.xml.transform.TransformerFactory;
import javax.xml.transform.dom.DOMSource;
import javax.xml.transform.stream.StreamResult;
import org.w3c.dom.Document;
import org.w3c.dom.Node;

/**
 * A payment notification from the sandbox bank NCBK: XML with an enveloped XML-DSig
 * signature (ECDSA-SHA256) made by the JDK's own javax.xml.crypto, and the adapter's
 * signed answer verified with the adapter's published key only.
 *
 * <pre>
 *   javac -d out docs/examples/java/*.java
 *   URL=http://127.0.0.1:8080 BILL=1000000000032 AMOUNT=650.00 java -cp out XmlDsigPayment
 * </pre>
 *
 * Exits 0 when the payment is POSTED and the answer's signature verifies.
 */
public final class XmlDsigPayment {
    private static final String KID = "ncbk-test-2026-01"; // its key is a PUBLIC TEST KEY
    private static final String NS = "urn:bank-adapter:v1";

    public static void main(String[] args) throws Exception {
        String url = JwsPayment.env("URL", "http://127.0.0.1:8080");
        Path partners = Path.of(JwsPayment.env("PARTNERS", "partners"));
        PrivateKey key = Pem.privateKey(partners.resolve("sandbox-keys/" + KID + ".key.pem"), "EC");

        // 1. The message, elements in the contract's order.
        String now = Instant.now().truncatedTo(ChronoUnit.SECONDS).toString();
        String xml = "<PaymentNotification xmlns=\"" + NS + "\">"
                + "<MessageId>" + UUID.randomUUID() + "</MessageId>"
                + "<Timestamp>" + now + "</Timestamp><Channel>ATM</Channel>"
                + "<TerminalId>ATM-JED-0007</TerminalId>"
                + "<BankPaymentRef>NCBK-JAVA-" + UUID.randomUUID().toString().substring(0, 8) + "</BankPaymentRef>"
                + "<BillNumber>" + JwsPayment.env("BILL", "1000000000032") + "</BillNumber>"
                + "<Amount>" + JwsPayment.env("AMOUNT", "650.00") + "</Amount>"
                + "<Currency>SAR</Currency><PaidAt>" + now + "</PaidAt></PaymentNotification>";
        Document document = parse(xml.getBytes(UTF_8));

        // 2. One enveloped signature as the root's last child: Reference URI="" (the whole
        //    document), enveloped-signature then exclusive c14n, SHA-256, ECDSA-SHA256,
        //    KeyInfo/KeyName = our registered key id (never a certificate: it is ignored).
        XMLSignatureFactory factory = XMLSignatureFactory.getInstance("DOM");
        Reference reference = factory.newReference("",
                factory.newDigestMethod(DigestMethod.SHA256, null),
                List.of(factory.newTransform(Transform.ENVELOPED, (TransformParameterSpec) null),
                        factory.newTransform(CanonicalizationMethod.EXCLUSIVE, (TransformParameterSpec) null)),
                null, null);
        SignedInfo signedInfo = factory.newSignedInfo(
                factory.newCanonicalizationMethod(CanonicalizationMethod.EXCLUSIVE, (C14NMethodParameterSpec) null),
                factory.newSignatureMethod(SignatureMethod.ECDSA_SHA256, null),
                List.of(reference));
        KeyInfoFactory keyInfos = factory.getKeyInfoFactory();
        KeyInfo keyInfo = keyInfos.newKeyInfo(List.of(keyInfos.newKeyName(KID)));
        DOMSignContext signing = new DOMSignContext(key, document.getDocumentElement());
        signing.setDefaultNamespacePrefix("ds");
        factory.newXMLSignature(signedInfo, keyInfo).sign(signing);
        byte[] body = serialize(document); // sent as serialised here, never re-formatted

        // 3. Send it.
        HttpClient http = HttpClient.newHttpClient();
        HttpRequest request = HttpRequest.newBuilder(URI.create(url + "/v1/payments"))
                .header("Content-Type", "application/xml")
                .header("X-Partner-Id", "NCBK")
                .POST(HttpRequest.BodyPublishers.ofByteArray(body))
                .build();
        HttpResponse<byte[]> answer = http.send(request, HttpResponse.BodyHandlers.ofByteArray());
        String text = new String(answer.body(), UTF_8);
        System.out.println("HTTP " + answer.statusCode());
        System.out.println(text);

        // 4. Verify the answer: the key comes from GET /v1/keys by the KeyName the answer
        //    gives, never from the message itself.
        Document answerDocument = parse(answer.body());
        Node signature = answerDocument.getElementsByTagNameNS(XMLSignature.XMLNS, "Signature").item(0);
        DOMValidateContext validating = new DOMValidateContext(new AdapterKeys(http, url), signature);
        if (!factory.unmarshalXMLSignature(validating).validate(validating)) {
            throw new SecurityException("the answer's signature does not verify");
        }
        System.out.println("answer signature verified");
        System.exit(answer.statusCode() == 200 && text.contains("<Status>POSTED</Status>") ? 0 : 1);
    }

    /** Namespace-aware, with DTDs refused (the adapter refuses them too). */
    static Document parse(byte[] xml) throws Exception {
        DocumentBuilderFactory factory = DocumentBuilderFactory.newInstance();
        factory.setNamespaceAware(true);
        factory.setFeature("http://apache.org/xml/features/disallow-doctype-decl", true);
        factory.setFeature(XMLConstants.FEATURE_SECURE_PROCESSING, true);
        return factory.newDocumentBuilder().parse(new ByteArrayInputStream(xml));
    }

    static byte[] serialize(Document document) throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        TransformerFactory.newInstance().newTransformer()
                .transform(new DOMSource(document), new StreamResult(out));
        return out.toByteArray();
    }

    /** The adapter's published key named by the signature's KeyName. */
    static final class AdapterKeys extends KeySelector {
        private final HttpClient http;
        private final String url;

        AdapterKeys(HttpClient http, String url) {
            this.http = http;
            this.url = url;
        }

        @Override
        public KeySelectorResult select(KeyInfo keyInfo, Purpose purpose, AlgorithmMethod method,
                XMLCryptoContext context) throws KeySelectorException {
            for (XMLStructure item : keyInfo.getContent()) {
                if (item instanceof KeyName name) {
                    try {
                        Key key = Pem.adapterKey(http, url, name.getName());
                        return () -> key;
                    } catch (Exception e) {
                        throw new KeySelectorException(e);
                    }
                }
            }
            throw new KeySelectorException("the answer names no key");
        }
    }
}
