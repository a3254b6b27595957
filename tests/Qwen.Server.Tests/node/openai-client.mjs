// Drives the server with the official `openai` npm package; prints one JSON object with what it saw.
// Usage: QWEN_BASE_URL=http://127.0.0.1:PORT/v1 QWEN_KEY=... node openai-client.mjs
import OpenAI from "openai";

const client = new OpenAI({ baseURL: process.env.QWEN_BASE_URL, apiKey: process.env.QWEN_KEY, maxRetries: 0 });
const model = process.env.QWEN_MODEL ?? "qwen-test";
const out = {};

const chat = await client.chat.completions.create({
  model,
  messages: [{ role: "user", content: [{ type: "text", text: "Hi" }] }],
  max_tokens: 32,
  stop: ["\n\n"],
});
out.chat = { content: chat.choices[0].message.content, finish: chat.choices[0].finish_reason, usage: chat.usage };

const stream = await client.chat.completions.create({
  model,
  messages: [{ role: "system", content: "Be brief." }, { role: "user", content: "Hi" }],
  stream: true,
  stream_options: { include_usage: true },
});
let text = "";
let chunks = 0;
let finish = null;
let usage = null;
for await (const chunk of stream) {
  chunks++;
  if (chunk.choices.length > 0) {
    text += chunk.choices[0].delta.content ?? "";
    finish = chunk.choices[0].finish_reason ?? finish;
  }
  if (chunk.usage) usage = chunk.usage;
}
out.stream = { text, chunks, finish, usage };

const tools = [{
  type: "function",
  function: {
    name: "get_weather",
    description: "Get the current weather",
    parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
  },
}];
const messages = [{ role: "user", content: "What is the weather in Paris?" }];
const first = await client.chat.completions.create({ model, messages, tools });
const call = first.choices[0].message.tool_calls[0];
messages.push(first.choices[0].message);
messages.push({ role: "tool", tool_call_id: call.id, content: JSON.stringify({ temperature: 22, sky: "sunny" }) });
const second = await client.chat.completions.create({ model, messages, tools });
out.tools = {
  firstFinish: first.choices[0].finish_reason,
  name: call.function.name,
  arguments: JSON.parse(call.function.arguments),
  secondFinish: second.choices[0].finish_reason,
  answer: second.choices[0].message.content,
};

try {
  await new OpenAI({ baseURL: process.env.QWEN_BASE_URL, apiKey: "wrong", maxRetries: 0 }).models.list();
  out.wrongKey = "accepted";
} catch (e) {
  out.wrongKey = { status: e.status, code: e.code, type: e.type };
}

const models = await client.models.list();
out.models = models.data.map((m) => m.id);

console.log(JSON.stringify(out));
