// did:key resolved locally for the interop scripts: the DID document of a
// did:key (Multikey), or its verification method when the URL has a fragment.
const MULTIKEY_V1 = 'https://w3id.org/security/multikey/v1';
const DID_V1 = 'https://www.w3.org/ns/did/v1';

export function didKeyDocuments(url) {
  const did = url.split('#')[0];
  const fingerprint = did.slice('did:key:'.length);
  const method = {
    '@context': MULTIKEY_V1,
    id: `${did}#${fingerprint}`,
    type: 'Multikey',
    controller: did,
    publicKeyMultibase: fingerprint
  };
  const controller = {
    '@context': [DID_V1, MULTIKEY_V1],
    id: did,
    verificationMethod: [method],
    assertionMethod: [method.id],
    authentication: [method.id]
  };
  return url.includes('#') ? method : controller;
}
