// Bitstring Status List interop with Digital Bazaar's implementation.
//   node status-list.mjs decode  < {"encodedList": "u...", "indices": [0, 7]}
//     -> {"length": N, "set": [indices whose bit is set]}
//   node status-list.mjs encode  < {"length": N, "set": [3, 131071]}
//     -> {"encodedList": "u..."}
import {createList, decodeList} from '@digitalbazaar/vc-bitstring-status-list';

const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const input = JSON.parse(Buffer.concat(chunks).toString('utf8'));

if (process.argv[2] === 'decode') {
  const list = await decodeList({encodedList: input.encodedList});
  const set = input.indices.filter(i => list.getStatus(i));
  process.stdout.write(JSON.stringify({length: list.length, set}));
} else if (process.argv[2] === 'encode') {
  const list = await createList({length: input.length});
  for (const i of input.set) list.setStatus(i, true);
  process.stdout.write(JSON.stringify({encodedList: await list.encode()}));
} else {
  process.stderr.write('usage: status-list.mjs decode|encode\n');
  process.exit(2);
}
