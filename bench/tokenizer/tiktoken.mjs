// tiktoken (OpenAI's Rust BPE compiled to WebAssembly, from npm) on the same
// texts as sluice-tokenizer-bench: MB/s for cl100k_base and o200k_base.
// Prints TSV rows: encoding, text, bytes, tokens, mb_s.
//   node tiktoken.mjs NODE_MODULES_DIR TEXT_DIR text[,text...]
import { createRequire } from "node:module";
import { readFileSync } from "node:fs";

const [modules, textDir, names] = process.argv.slice(2);
const require = createRequire(`${modules}/`);
const { get_encoding } = require("tiktoken");

console.log("encoding\ttext\tbytes\ttokens\tmb_s");
for (const encoding of ["cl100k_base", "o200k_base"]) {
  const enc = get_encoding(encoding);
  for (const name of names.split(",")) {
    const text = readFileSync(`${textDir}/${name}.txt`, "utf8");
    const bytes = Buffer.byteLength(text);
    let tokens = enc.encode_ordinary(text).length;  // warm
    let rounds = 0;
    const start = process.hrtime.bigint();
    let seconds = 0;
    do {
      tokens = enc.encode_ordinary(text).length;
      ++rounds;
      seconds = Number(process.hrtime.bigint() - start) / 1e9;
    } while (seconds < 0.5);
    console.log(`${encoding}\t${name}\t${bytes}\t${tokens}\t${(bytes * rounds / seconds / 1e6).toFixed(1)}`);
  }
  enc.free();
}
