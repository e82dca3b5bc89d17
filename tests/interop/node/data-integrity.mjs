// Data Integrity eddsa-rdfc-2022 with Digital Bazaar's implementation
// (@digitalbazaar/vc + data-integrity + eddsa-rdfc-2022-cryptosuite).
//   node data-integrity.mjs sign     < {"credential": {...}}   (issuer is set to a new did:key)
//     -> {"credential": signed, "did": "did:key:z6Mk..."}
//   node data-integrity.mjs verify   < {"credential": signed}
//     -> {"verified": true|false, "error": "..."}
//   node data-integrity.mjs canonize < {"document": {...}}
//     -> {"nquads": "..."}
// Contexts come from the npm context packages; did:key is resolved locally.
// Nothing is fetched: any other URL is an error.
import * as Ed25519Multikey from '@digitalbazaar/ed25519-multikey';
import * as vc from '@digitalbazaar/vc';
import {contexts as credentialContexts} from '@digitalbazaar/credentials-context';
import {DataIntegrityProof} from '@digitalbazaar/data-integrity';
import didContext from 'did-context';
import {cryptosuite as eddsaRdfc2022} from '@digitalbazaar/eddsa-rdfc-2022-cryptosuite';
import integrityContext from '@digitalbazaar/data-integrity-context';
import jsonld from 'jsonld';
import multikeyContext from '@digitalbazaar/multikey-context';
import {didKeyDocuments} from './did-key.mjs';

const CONTEXTS = new Map([
  ...credentialContexts,
  ...integrityContext.contexts,
  ...multikeyContext.contexts,
  ...didContext.contexts
]);

async function documentLoader(url) {
  if(CONTEXTS.has(url)) {
    return {contextUrl: null, documentUrl: url, document: CONTEXTS.get(url)};
  }
  if(url.startsWith('did:key:z6Mk')) {
    return {contextUrl: null, documentUrl: url, document: didKeyDocuments(url)};
  }
  throw new Error(`refusing to load ${url}`);
}

const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const input = JSON.parse(Buffer.concat(chunks).toString('utf8'));
const command = process.argv[2];

if(command === 'sign') {
  const key = await Ed25519Multikey.generate();
  const did = `did:key:${key.publicKeyMultibase}`;
  key.controller = did;
  key.id = `${did}#${key.publicKeyMultibase}`;
  const suite = new DataIntegrityProof({signer: key.signer(), cryptosuite: eddsaRdfc2022});
  const credential = {...input.credential, issuer: did};
  const signed = await vc.issue({credential, suite, documentLoader});
  process.stdout.write(JSON.stringify({credential: signed, did}));
} else if(command === 'verify') {
  const suite = new DataIntegrityProof({cryptosuite: eddsaRdfc2022});
  const result = await vc.verifyCredential(
    {credential: input.credential, suite, documentLoader});
  const error = result.error ?
    (result.error.errors || [result.error]).map(e => e.message).join('; ') : undefined;
  process.stdout.write(JSON.stringify({verified: result.verified, error}));
} else if(command === 'canonize') {
  const nquads = await jsonld.canonize(input.document, {
    algorithm: 'RDFC-1.0', format: 'application/n-quads', documentLoader, safe: true
  });
  process.stdout.write(JSON.stringify({nquads}));
} else {
  process.stderr.write('usage: data-integrity.mjs sign|verify|canonize\n');
  process.exit(2);
}
