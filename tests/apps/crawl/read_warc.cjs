#!/usr/bin/env node
// Reads WARC files with webrecorder's warcio (an independent reader, not rankpool's code) and
// prints one JSON line per record: its WARC headers, where it is in the file, the digests
// computed here from the bytes warcio hands out, and the HTTP status.
//   node read_warc.cjs WARCIO_DIR FILE.warc.gz...
// WARCIO_DIR: the directory that `npm install warcio` populated (node_modules/ under it).
"use strict";
const fs = require("fs");
const path = require("path");
const crypto = require("crypto");
const { createRequire } = require("module");

const [warcioDir, ...files] = process.argv.slice(2);
const { WARCParser } = createRequire(path.join(path.resolve(warcioDir), "package.json"))("warcio");

function base32(bytes) {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  let bits = 0, acc = 0, out = "";
  for (const b of bytes) {
    acc = (acc << 8) | b;
    bits += 8;
    while (bits >= 5) {
      out += alphabet[(acc >>> (bits - 5)) & 31];
      bits -= 5;
    }
    acc &= (1 << bits) - 1;
  }
  if (bits > 0) out += alphabet[(acc << (5 - bits)) & 31];
  while (out.length % 8) out += "=";
  return out;
}
const sha1 = (bytes) => "sha1:" + base32(crypto.createHash("sha1").update(bytes).digest());
const sha1hex = (bytes) => crypto.createHash("sha1").update(bytes).digest("hex");

async function pass(file, opts, fn) {
  const out = [];
  const parser = new WARCParser(fs.createReadStream(file), opts);
  for await (const record of parser) out.push(await fn(record, parser));
  return out;
}

async function main() {
  for (const file of files) {
    // Three passes, as a record's body can be read once: the whole block (parseHttp off), the
    // HTTP payload as stored, and the content decoded (Content-Encoding undone by warcio).
    const blocks = await pass(file, { parseHttp: false }, async (r, p) => {
      const block = await r.readFully(false);
      return {
        file: path.basename(file),
        offset: p.offset,
        length: p.recordLength,
        version: r.warcHeaders.protocol,
        type: r.warcType,
        id: r.warcHeader("WARC-Record-ID"),
        uri: r.warcTargetURI || null,
        date: r.warcDate || null,
        ip: r.warcHeader("WARC-IP-Address") || null,
        concurrent_to: r.warcHeader("WARC-Concurrent-To") || null,
        warcinfo_id: r.warcHeader("WARC-Warcinfo-ID") || null,
        filename: r.warcHeader("WARC-Filename") || null,
        truncated: r.warcHeader("WARC-Truncated") || null,
        content_type: r.warcContentType || null,
        payload_digest: r.warcPayloadDigest || null,
        block_digest: r.warcBlockDigest || null,
        block_sha1: sha1(block),
        block_length: block.length,
        block_text: r.warcType === "warcinfo" || r.warcType === "request" ? Buffer.from(block).toString("latin1") : null,
      };
    });
    const payloads = await pass(file, {}, async (r) => {
      if (r.warcType !== "response") return {};
      const info = r.getResponseInfo();
      const payload = await r.readFully(false);
      return {
        status: Number(info.status),
        content_encoding: info.headers.get("content-encoding"),
        etag: info.headers.get("etag"),
        http_content_type: info.headers.get("content-type"),
        payload_sha1: sha1(payload),
        payload_length: payload.length,
      };
    });
    const contents = await pass(file, {}, async (r) => {
      if (r.warcType !== "response") return {};
      const content = await r.readFully(true);
      return { content_sha1_hex: sha1hex(content), content_length: content.length };
    });
    for (let i = 0; i < blocks.length; ++i)
      process.stdout.write(JSON.stringify({ ...blocks[i], ...payloads[i], ...contents[i] }) + "\n");
  }
}

main().catch((e) => {
  process.stderr.write(`read_warc: ${e.stack || e}\n`);
  process.exit(1);
});
