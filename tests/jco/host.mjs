// A second host for the otlp-capture component: jco transpiles it for Node,
// and this file supplies its four imports (storage, clock, randomness,
// pseudonyms) and
// runs the plan the Rust test wrote, so the test can compare what both hosts
// stored and prepared, byte for byte.
//
// Usage: node host.mjs WORKDIR
//   WORKDIR/component.wasm  the component (the one the otlp-capture binary embeds)
//   WORKDIR/plan.json       the calls to make (see tests/component/second_host.rs)
//   WORKDIR/jco.json        written here: every put, receipt, error and replay payload
//
// The imports are the contract a third-party host implements; they are kept
// as plain as the WIT says:
//   clock.nowUnixNanos()        -> bigint, the pinned instant
//   randomness.randomBytes(len) -> Uint8Array, call n (from 1) answers len bytes of n mod 256
//   storage.put(key, body, ct)  -> records the object, or throws a storage-error variant
//   pseudonyms.hmacSha256(text) -> hex HMAC-SHA256 under plan.redactionKey (node:crypto), or none

import { transpile } from '@bytecodealliance/jco';
import { createHmac } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const workdir = process.argv[2];
if (!workdir) {
  console.error('usage: node host.mjs WORKDIR');
  process.exit(2);
}
const plan = JSON.parse(readFileSync(join(workdir, 'plan.json'), 'utf8'));

// Transpile into the work directory and load the generated module.
const { files } = await transpile(readFileSync(join(workdir, 'component.wasm')), {
  name: 'processor',
  instantiation: 'sync',
  wasiShim: false,
  noTypescript: true,
  quiet: true,
});
const outDir = join(workdir, 'transpiled');
for (const [name, bytes] of Object.entries(files)) {
  const path = join(outDir, name);
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, bytes);
}
const { instantiate } = await import(pathToFileURL(join(outDir, 'processor.js')).href);

const puts = [];
let refusal = null;
let randomCalls = 0n;
const imports = {
  'otlp:capture/clock': {
    nowUnixNanos: () => BigInt(plan.nowUnixNanos),
  },
  'otlp:capture/randomness': {
    randomBytes: (len) => {
      randomCalls += 1n;
      return new Uint8Array(len).fill(Number(randomCalls % 256n));
    },
  },
  'otlp:capture/pseudonyms': {
    hmacSha256: (text) =>
      plan.redactionKey ? createHmac('sha256', Buffer.from(plan.redactionKey, 'hex')).update(text).digest('hex') : undefined,
  },
  'otlp:capture/storage': {
    put: (key, body, contentType) => {
      if (refusal) {
        // A result's error case is thrown; jco lifts it into the variant.
        throw { tag: 'busy', val: refusal };
      }
      puts.push({ key, contentType, body: Buffer.from(body).toString('hex') });
    },
  },
};
const getCoreModule = (name) => new WebAssembly.Module(readFileSync(join(outDir, name)));
const processor = instantiate(getCoreModule, imports).otlpProcessor;

// u64 fields travel as decimal strings in plan.json; the component takes bigints.
const u64 = (text) => BigInt(text);
const optional = (value, convert = (v) => v) => (value === null || value === undefined ? undefined : convert(value));
const config = {
  ...plan.config,
  diagnosticSessionId: optional(plan.config.diagnosticSessionId),
  description: optional(plan.config.description),
  maxSizeBytes: optional(plan.config.maxSizeBytes, u64),
  maxDurationMillis: optional(plan.config.maxDurationMillis, u64),
  gzipLevel: optional(plan.config.gzipLevel),
  redaction: optional(plan.config.redaction),
};
const replayOptions = {
  rewrite: { tag: plan.replay.rewrite.tag, val: optional(plan.replay.rewrite.val, u64) },
  idRemapSeed: optional(plan.replay.idRemapSeed, u64),
  services: plan.replay.services,
  fromUnixNanos: u64(plan.replay.fromUnixNanos),
  toUnixNanos: u64(plan.replay.toUnixNanos),
  maxUncompressedBytes: u64(plan.replay.maxUncompressedBytes),
};
const text = (value) => JSON.parse(JSON.stringify(value, (_, v) => (typeof v === 'bigint' ? v.toString() : v)));
const errorOf = (e) => {
  if (e && e.payload !== undefined) return text(e.payload);
  throw e;
};

const result = { puts, receipts: [], refused: null, replays: [] };
const started = processor.startSession(config);
for (const request of plan.requests) {
  const payload = readFileSync(join(workdir, request.file));
  const receipt = processor.capture(config, request.signal, request.encoding, payload);
  result.receipts.push(receipt === undefined ? null : text(receipt));
}
refusal = plan.refusal.message;
try {
  const request = plan.requests[0];
  processor.capture(config, request.signal, request.encoding, readFileSync(join(workdir, request.file)));
} catch (e) {
  result.refused = errorOf(e);
}
refusal = null;
processor.stopSession(started, 'completed', 'finished by the jco host');
for (const put of puts.filter((p) => p.contentType === 'application/gzip')) {
  const { signal } = processor.parseObjectKey(put.key);
  const batch = processor.prepareReplay(signal, Buffer.from(put.body, 'hex'), replayOptions);
  result.replays.push({
    key: put.key,
    payload: batch === undefined ? null : Buffer.from(batch.payload).toString('hex'),
    appliedShift: batch === undefined ? null : batch.appliedShift.toString(),
  });
}
writeFileSync(join(workdir, 'jco.json'), JSON.stringify(result, null, 1));
