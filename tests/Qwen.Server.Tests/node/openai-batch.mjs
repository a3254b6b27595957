// Drives the Batch API with the official `openai` npm package; prints one JSON object with what it saw.
// Usage: QWEN_BASE_URL=http://127.0.0.1:PORT/v1 QWEN_KEY=... QWEN_INPUT=input.jsonl node openai-batch.mjs flow|cancel
//   flow:   files.create → batches.create → poll batches.retrieve → files.content, then every valid request online.
//   cancel: the same, but batches.cancel once the batch is in progress with some requests done; then poll until it ends.
import fs from "node:fs";
import OpenAI from "openai";

const client = new OpenAI({ baseURL: process.env.QWEN_BASE_URL, apiKey: process.env.QWEN_KEY, maxRetries: 0 });
const mode = process.argv[2] ?? "flow";
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const terminal = new Set(["completed", "failed", "cancelled", "expired"]);

const file = await client.files.create({ file: fs.createReadStream(process.env.QWEN_INPUT), purpose: "batch" });
let batch = await client.batches.create({
  input_file_id: file.id,
  endpoint: "/v1/chat/completions",
  completion_window: "24h",
  metadata: { suite: "openai-batch" },
});
const statuses = [batch.status];
const seen = async () => {
  batch = await client.batches.retrieve(batch.id);
  if (statuses[statuses.length - 1] !== batch.status) statuses.push(batch.status);
};

let cancelledWhile = null;
if (mode === "cancel") {
  while (batch.status !== "in_progress" || batch.request_counts.completed === 0) {
    if (terminal.has(batch.status)) throw new Error(`batch ${batch.id} ended ${batch.status} before it could be cancelled`);
    await sleep(20);
    await seen();
  }
  cancelledWhile = batch.status;
  batch = await client.batches.cancel(batch.id);
  statuses.push(batch.status);
}
const deadline = Date.now() + 120_000;
while (!terminal.has(batch.status)) {
  if (Date.now() > deadline) throw new Error(`batch ${batch.id} still ${batch.status} after 120 s`);
  await sleep(50);
  await seen();
}

const text = async (id) => (id ? await (await client.files.content(id)).text() : "");
const output = await text(batch.output_file_id);
const errors = await text(batch.error_file_id);
const outputFile = batch.output_file_id ? await client.files.retrieve(batch.output_file_id) : null;

const online = {};
if (mode === "flow") {
  for (const line of fs.readFileSync(process.env.QWEN_INPUT, "utf8").split("\n")) {
    if (!line.trim()) continue;
    const request = JSON.parse(line);
    try {
      const answer = await client.chat.completions.create(request.body);
      online[request.custom_id] = { content: answer.choices[0].message.content, usage: answer.usage, finish: answer.choices[0].finish_reason };
    } catch (e) {
      online[request.custom_id] = { status: e.status, code: e.code };
    }
  }
}

const listed = [];
for await (const b of client.batches.list({ limit: 1 })) listed.push(b.id);

console.log(JSON.stringify({ file, batch, statuses, cancelledWhile, output, errors, outputFile, online, listed }));
