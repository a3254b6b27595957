// One greedy chat completion and one greedy stream with the official `openai` npm package; prints what came back.
// Usage: QWEN_BASE_URL=http://127.0.0.1:PORT/v1 QWEN_KEY=... QWEN_MODEL=... node openai-greedy.mjs
import OpenAI from "openai";

const client = new OpenAI({ baseURL: process.env.QWEN_BASE_URL, apiKey: process.env.QWEN_KEY, maxRetries: 0 });
const model = process.env.QWEN_MODEL;
const messages = [{ role: "user", content: "Tell me a story about 你好." }];

const chat = await client.chat.completions.create({ model, messages, max_tokens: 12, temperature: 0 });
const stream = await client.chat.completions.create({
  model, messages, max_tokens: 12, temperature: 0, stream: true, stream_options: { include_usage: true },
});
let text = "";
let usage = null;
for await (const chunk of stream) {
  if (chunk.choices.length > 0) text += chunk.choices[0].delta.content ?? "";
  if (chunk.usage) usage = chunk.usage;
}
console.log(JSON.stringify({
  chat: { content: chat.choices[0].message.content, usage: chat.usage },
  stream: { text, usage },
}));
