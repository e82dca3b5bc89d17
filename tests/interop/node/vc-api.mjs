// The trust anchor's VC-API against Digital Bazaar's implementation
// (@digitalbazaar/vc 7 with data-integrity + eddsa-rdfc-2022-cryptosuite).
//   node vc-api.mjs verify-credential   < {"credential": {...}, "documents": {url: doc}}
//     -> {"verified": true|false, "error": "..."}
//   node vc-api.mjs verify-presentation < {"presentation": {...}, "challenge": "...",
//                                          "domain": "...", "documents": {url: doc}}
//     -> {"verified": true|false, "error": "..."}
//   node vc-api.mjs issue               < {"credential": {...}}  (issuer: a new did:key)
//     -> {"credential": signed, "did": "did:key:z6Mk..."}
//   node vc-api.mjs present             < {"credentials": [...], "challenge": "...",
//                                          "domain": "...", "holder": true}
//     -> {"presentation": signed, "did": "did:key:z6Mk..."}   (holder: a new did:key)
// `issue` and `present` take "cryptosuite": "eddsa-2022" to sign with the draft-era
// suite (what the W3C VC 2.0 test suite signs its presentations with).
// `documents` are extra documents the loader serves (a did:web DID document; its
// verification methods are served by their id). Contexts come from the npm context
// packages, plus the VC 2.0 examples context; did:key is resolved locally; nothing
// else is fetched.
import * as Ed25519Multikey from '@digitalbazaar/ed25519-multikey';
import * as vc from '@digitalbazaar/vc';
import {contexts as credentialContexts} from '@digitalbazaar/credentials-context';
import {DataIntegrityProof} from '@digitalbazaar/data-integrity';
import didContext from 'did-context';
import {cryptosuite as eddsa2022} from '@digitalbazaar/eddsa-2022-cryptosuite';
import {cryptosuite as eddsaRdfc2022} from '@digitalbazaar/eddsa-rdfc-2022-cryptosuite';
import integrityContext from '@digitalbazaar/data-integrity-context';
import multikeyContext from '@digitalbazaar/multikey-context';
import {didKeyDocuments} from './did-key.mjs';

const EXAMPLES_V2 = 'https://www.w3.org/ns/credentials/examples/v2';
const CONTEXTS = new Map([
  ...credentialContexts,
  ...integrityContext.contexts,
  ...multikeyContext.contexts,
  ...didContext.contexts,
  [EXAMPLES_V2, {'@context': {'@vocab': 'https://www.w3.org/ns/credentials/examples#'}}]
]);

function loaderFor(documents = {}) {
  const served = new Map(Object.entries(documents));
  for(const document of Object.values(documents)) {
    for(const method of document.verificationMethod || []) {
      served.set(method.id, {'@context': document['@context'], ...method});
    }
  }
  return async url => {
    const found = CONTEXTS.get(url) || served.get(url);
    if(found) {
      return {contextUrl: null, documentUrl: url, document: found};
    }
    if(url.startsWith('did:key:z6Mk')) {
      return {contextUrl: null, documentUrl: url, document: didKeyDocuments(url)};
    }
    throw new Error(`refusing to load ${url}`);
  };
}

async function newDidKey() {
  const key = await Ed25519Multikey.generate();
  const did = `did:key:${key.publicKeyMultibase}`;
  key.controller = did;
  key.id = `${did}#${key.publicKeyMultibase}`;
  return {key, did};
}

function errorOf(result) {
  if(result.verified) {
    return undefined;
  }
  const errors = [];
  const collect = r => {
    if(r?.error) {
      errors.push(...(r.error.errors || [r.error]).map(e => e.message));
    }
  };
  collect(result);
  collect(result.presentationResult);
  for(const c of result.credentialResults || []) {
    collect(c);
  }
  return errors.join('; ') || 'not verified';
}

const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const input = JSON.parse(Buffer.concat(chunks).toString('utf8'));
const command = process.argv[2];
const verifySuite = new DataIntegrityProof({cryptosuite: eddsaRdfc2022});
const signingSuite = () => input.cryptosuite === 'eddsa-2022' ? eddsa2022 : eddsaRdfc2022;

if(command === 'verify-credential') {
  const result = await vc.verifyCredential({
    credential: input.credential, suite: verifySuite,
    documentLoader: loaderFor(input.documents)
  });
  process.stdout.write(JSON.stringify({verified: result.verified, error: errorOf(result)}));
} else if(command === 'verify-presentation') {
  const result = await vc.verify({
    presentation: input.presentation, suite: verifySuite, challenge: input.challenge,
    domain: input.domain, documentLoader: loaderFor(input.documents)
  });
  process.stdout.write(JSON.stringify({verified: result.verified, error: errorOf(result)}));
} else if(command === 'issue') {
  const {key, did} = await newDidKey();
  const suite = new DataIntegrityProof({signer: key.signer(), cryptosuite: signingSuite()});
  const credential = {...input.credential, issuer: did};
  const signed = await vc.issue({credential, suite, documentLoader: loaderFor()});
  process.stdout.write(JSON.stringify({credential: signed, did}));
} else if(command === 'present') {
  const {key, did} = await newDidKey();
  const suite = new DataIntegrityProof({signer: key.signer(), cryptosuite: signingSuite()});
  const presentation = vc.createPresentation({
    verifiableCredential: input.credentials, holder: input.holder ? did : undefined,
    version: 2.0
  });
  const signed = await vc.signPresentation({
    presentation, suite, challenge: input.challenge, domain: input.domain,
    documentLoader: loaderFor()
  });
  process.stdout.write(JSON.stringify({presentation: signed, did}));
} else {
  process.stderr.write('usage: vc-api.mjs verify-credential|verify-presentation|issue|present\n');
  process.exit(2);
}
