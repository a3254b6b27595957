// Structured output with the official `openai` npm package: every schema of QWEN_SCHEMAS ([{name, schema}]) is asked for
// with seeds 0..QWEN_SAMPLES-1 at temperature 1, streaming and not; then json_object both ways and an unsupported keyword.
// Prints one JSON object with what came back; the C# test validates it. Requests run QWEN_CONCURRENCY at a time.
import OpenAI from "openai";

const client = new OpenAI({ baseURL: process.env.QWEN_BASE_URL, apiKey: process.env.QWEN_KEY, maxRetries: 0 });
const model = process.env.QWEN_MODEL;
const schemas = JSON.parse(process.env.QWEN_SCHEMAS);
const samples = Number(process.env.QWEN_SAMPLES ?? 50);
const maxTokens = Number(process.env.QWEN_MAX_TOKENS ?? 96);
const concurrency = Number(process.env.QWEN_CONCURRENCY ?? 16);
const messages = [{ role: "user", content: "Describe it as JSON." }];

async function pool(jobs) {
  const results = new Array(jobs.length);
  let next = 0;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < jobs.length) {
      const i = next++;
      results[i] = await jobs[i]();
    }
  }));
  return results;
}

async function whole(responseFormat, seed, max) {
  const r = await client.chat.completions.create({ model, messages, response_format: responseFormat, temperature: 1, seed, max_tokens: max });
  return { content: r.choices[0].message.content, finish: r.choices[0].finish_reason, tokens: r.usage.completion_tokens };
}

async function streamed(responseFormat, seed, max) {
  const stream = await client.chat.completions.create({ model, messages, response_format: responseFormat, temperature: 1, seed, max_tokens: max, stream: true });
  let content = "";
  let finish = null;
  let deltas = 0;
  for await (const chunk of stream) {
    for (const choice of chunk.choices) {
      if (choice.delta.content) {
        content += choice.delta.content;
        deltas++;
      }
      finish = choice.finish_reason ?? finish;
    }
  }
  return { content, finish, deltas };
}

const jobs = [];
const out = { schemas: schemas.map((s) => ({ name: s.name, whole: [], streamed: [] })) };
schemas.forEach((s, k) => {
  const format = { type: "json_schema", json_schema: { name: s.name, schema: s.schema, strict: true } };
  for (let seed = 0; seed < samples; seed++) {
    jobs.push(async () => { out.schemas[k].whole[seed] = await whole(format, seed, maxTokens); });
    jobs.push(async () => { out.schemas[k].streamed[seed] = await streamed(format, seed, maxTokens); });
  }
});
jobs.push(async () => { out.jsonObject = await whole({ type: "json_object" }, 7, 24); });
jobs.push(async () => { out.jsonObjectStreamed = await streamed({ type: "json_object" }, 7, 24); });
const started = Date.now();
await pool(jobs);
out.seconds = (Date.now() - started) / 1000;

try {
  await client.chat.completions.create({
    model, messages, max_tokens: 8,
    response_format: { type: "json_schema", json_schema: { name: "code", strict: true, schema: {
      type: "object", properties: { code: { type: "string", pattern: "^[A-Z]{3}$" } }, required: ["code"], additionalProperties: false } } },
  });
  out.unsupported = "accepted";
} catch (e) {
  out.unsupported = { status: e.status, param: e.param, code: e.code, type: e.type, message: e.message };
}

console.log(JSON.stringify(out));
