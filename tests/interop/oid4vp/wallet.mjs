// A wallet built on @openid4vc/openid4vp, run against our OpenID4VP verifier.
//
// Reads one JSON object from stdin:
//   {"authorization_url": "openid4vp://?client_id=...&request_uri=...",
//    "verifier_jwk": {the public JWK of the key our verifier's DID names; resolved in Python},
//    "vp_token": {"membership": ["<JWT VP made by our holder code>"]},
//    "allow_insecure_urls": true | false}
// and, with the library's own code: parses the authorization URL, fetches the
// request object from request_uri, verifies it (our verifyJwt callback checks
// the EdDSA signature with verifier_jwk; the library checks the typ, that the
// signer's DID is the one in client_id, the request's claims and its version),
// creates the authorization response and posts it (direct_post) to response_uri.
//
// Writes one JSON object to stdout: {"client": {prefix, identifier}, "version",
// "request": {the verified request object's claims}, "dcql", "response_fields",
// "status", "body"} and exits 0, or {"error": {"stage", "name", "message",
// "oauth_error"}} and exits 1.
import { createPublicKey, verify } from "node:crypto";

import { setGlobalConfig } from "@openid4vc/oauth2";
import { Openid4vpClient } from "@openid4vc/openid4vp";

const input = JSON.parse(await new Promise((resolve, reject) => {
  let text = "";
  process.stdin.setEncoding("utf8");
  process.stdin.on("data", (chunk) => { text += chunk; });
  process.stdin.on("end", () => resolve(text));
  process.stdin.on("error", reject);
}));

// Our verifier under test is on plain HTTP on loopback.
setGlobalConfig({ allowInsecureUrls: input.allow_insecure_urls === true });

const verifierKey = createPublicKey({ key: input.verifier_jwk, format: "jwk" });
const verified = [];

const callbacks = {
  fetch: (url, init) => fetch(url, init),
  async verifyJwt(signer, { compact }) {
    const [header, payload, signature] = compact.split(".");
    const ok = signer.alg === "EdDSA" && verify(
      null, Buffer.from(`${header}.${payload}`), verifierKey, Buffer.from(signature, "base64url"));
    verified.push({ method: signer.method, didUrl: signer.didUrl ?? null, ok });
    return ok ? { verified: true, signerJwk: input.verifier_jwk } : { verified: false };
  },
  hash() { throw new Error("no hashing in this flow"); },
  signJwt() { throw new Error("the presentation is made by the test, not signed here"); },
  encryptJwe() { throw new Error("no JWE in this flow"); },
  decryptJwe() { throw new Error("no JWE in this flow"); },
};

const client = new Openid4vpClient({ callbacks });
let stage = "parse";
try {
  const parsed = client.parseOpenid4vpAuthorizationRequest({ authorizationRequest: input.authorization_url });
  stage = "resolve";
  const resolved = await client.resolveOpenId4vpAuthorizationRequest({
    authorizationRequestPayload: parsed.params,
  });
  stage = "create-response";
  const { authorizationResponsePayload } = await client.createOpenid4vpAuthorizationResponse({
    authorizationRequestPayload: resolved.authorizationRequestPayload,
    authorizationResponsePayload: { vp_token: input.vp_token },
  });
  stage = "submit";
  const { response } = await client.submitOpenid4vpAuthorizationResponse({
    authorizationRequestPayload: resolved.authorizationRequestPayload,
    authorizationResponsePayload,
  });
  const text = await response.text();
  let body;
  try { body = JSON.parse(text); } catch { body = text; }
  process.stdout.write(JSON.stringify({
    parsed_type: parsed.type,
    client: { prefix: resolved.client.prefix, identifier: resolved.client.identifier,
              did_url: resolved.client.didUrl ?? null },
    version: resolved.version,
    request: resolved.authorizationRequestPayload,
    dcql: resolved.dcql?.query ?? null,
    verified,
    response_fields: Object.keys(authorizationResponsePayload).sort(),
    status: response.status,
    body,
  }));
} catch (error) {
  process.stdout.write(JSON.stringify({
    error: {
      stage, name: error.constructor?.name, message: String(error.message),
      oauth_error: error.errorResponse?.error ?? null,
    },
    verified,
  }));
  process.exitCode = 1;
}
