// A holder wallet built on @openid4vc/openid4vci, run against our trust anchor.
//
// Reads one JSON object from stdin:
//   {"offer_uri": "openid-credential-offer://...", "tx_code": "123456" | null,
//    "private_jwk": {Ed25519 OKP JWK with "d"}, "kid": "did:key:...#...",
//    "allow_insecure_urls": true | false}
// and walks the pre-authorized code flow with the library's own code: resolve
// the offer, discover the issuer and authorization server metadata, get an
// access token, get a c_nonce, build the openid4vci-proof+jwt key proof and
// request the credential. The only code of ours here is the Ed25519 signer
// (Node's crypto) and the plumbing.
//
// Writes one JSON object to stdout: {"credentials": [...], "proof_header",
// "version" (the OID4VCI version the library took the issuer for), "trace"} and
// exits 0, or {"error": {"stage", "name", "message", "oauth_error"}, "trace"}
// and exits 1. The trace lists every HTTP exchange (method, URL, status,
// content type, the names of the form or JSON fields sent), never values.
import { createHash, createPrivateKey, createPublicKey, randomBytes, sign } from "node:crypto";

import { clientAuthenticationAnonymous } from "@openid4vc/oauth2";
import { Openid4vciClient, setGlobalConfig } from "@openid4vc/openid4vci";

const input = JSON.parse(await new Promise((resolve, reject) => {
  let text = "";
  process.stdin.setEncoding("utf8");
  process.stdin.on("data", (chunk) => { text += chunk; });
  process.stdin.on("end", () => resolve(text));
  process.stdin.on("error", reject);
}));

// The library insists on https:// URLs; the trust anchor under test is on plain
// HTTP on loopback, so the caller may lift that ("allow_insecure_urls": true).
setGlobalConfig({ allowInsecureUrls: input.allow_insecure_urls === true });

const privateKey = createPrivateKey({ key: input.private_jwk, format: "jwk" });
const publicJwk = createPublicKey(privateKey).export({ format: "jwk" });

const b64url = (data) => Buffer.from(data).toString("base64url");
const trace = [];

function fieldNames(body) {
  if (typeof body !== "string") { return []; }
  try { return Object.keys(JSON.parse(body)).sort(); } catch { /* a form */ }
  return [...new URLSearchParams(body).keys()].sort();
}

const callbacks = {
  async fetch(url, init = {}) {
    const response = await fetch(url, init);
    trace.push({
      method: init.method ?? "GET",
      url: String(url),
      status: response.status,
      content_type: response.headers.get("content-type"),
      fields: fieldNames(init.body),
    });
    return response;
  },
  hash(data, alg) {
    const name = { "sha-256": "sha256", "sha-384": "sha384", "sha-512": "sha512" }[alg];
    return new Uint8Array(createHash(name).update(data).digest());
  },
  generateRandom(length) { return new Uint8Array(randomBytes(length)); },
  async signJwt(signer, { header, payload }) {
    if (signer.alg !== "EdDSA") { throw new Error(`this wallet signs with EdDSA, not ${signer.alg}`); }
    const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(payload))}`;
    const signature = sign(null, Buffer.from(input), privateKey);
    return { jwt: `${input}.${b64url(signature)}`, signerJwk: publicJwk };
  },
  verifyJwt() { throw new Error("the wallet verifies no JWTs in this flow"); },
  encryptJwe() { throw new Error("no JWE in this flow"); },
  decryptJwe() { throw new Error("no JWE in this flow"); },
  clientAuthentication: clientAuthenticationAnonymous(),
};

const client = new Openid4vciClient({ callbacks });
let stage = "resolve-offer";
try {
  const offer = await client.resolveCredentialOffer(input.offer_uri);
  stage = "resolve-metadata";
  const issuerMetadata = await client.resolveIssuerMetadata(offer.credential_issuer);
  const configurationId = offer.credential_configuration_ids[0];
  stage = "token";
  const { accessTokenResponse } = await client.retrievePreAuthorizedCodeAccessTokenFromOffer({
    credentialOffer: offer,
    issuerMetadata,
    txCode: input.tx_code ?? undefined,
  });
  stage = "nonce";
  const { c_nonce: nonce } = await client.requestNonce({ issuerMetadata });
  stage = "proof";
  const { jwt } = await client.createCredentialRequestJwtProof({
    issuerMetadata,
    credentialConfigurationId: configurationId,
    signer: { method: "did", didUrl: input.kid, alg: "EdDSA" },
    nonce,
    issuedAt: new Date(),
  });
  stage = "credential";
  const { credentialResponse } = await client.retrieveCredentials({
    issuerMetadata,
    accessToken: accessTokenResponse.access_token,
    credentialConfigurationId: configurationId,
    proofs: { jwt: [jwt] },
  });
  process.stdout.write(JSON.stringify({
    version: issuerMetadata.originalDraftVersion,
    configuration_id: configurationId,
    proof_header: JSON.parse(Buffer.from(jwt.split(".")[0], "base64url").toString()),
    credentials: credentialResponse.credentials.map((c) => c.credential),
    trace,
  }));
} catch (error) {
  const oauthError = error.errorResponse?.error
    ?? error.response?.credentialErrorResponseResult?.data?.error ?? null;
  process.stdout.write(JSON.stringify({
    error: { stage, name: error.constructor?.name, message: String(error.message), oauth_error: oauthError },
    trace,
  }));
  process.exitCode = 1;
}
