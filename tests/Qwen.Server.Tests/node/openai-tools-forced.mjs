// tool_choice "required" and a named function with the official `openai` npm package, on the real engine (random
// weights, so only the constraint can make the reply a valid call). Tools come from QWEN_TOOLS (the request's `tools`).
// Prints one JSON object with the calls that came back; the C# test validates them.
import OpenAI from "openai";

const client = new OpenAI({ baseURL: process.env.QWEN_BASE_URL, apiKey: process.env.QWEN_KEY, maxRetries: 0 });
const model = process.env.QWEN_MODEL;
const tools = JSON.parse(process.env.QWEN_TOOLS);
const seeds = Number(process.env.QWEN_SAMPLES ?? 5);
const maxTokens = 400;
const messages = [{ role: "user", content: "What is the weather in Oslo, and the time?" }];
const out = { required: [], named: [] };

const call = (r) => ({
  finish: r.choices[0].finish_reason,
  content: r.choices[0].message.content,
  calls: (r.choices[0].message.tool_calls ?? []).map((c) => ({ id: c.id, type: c.type, name: c.function.name, arguments: c.function.arguments })),
});

await Promise.all(Array.from({ length: seeds }, async (_, seed) => {
  out.required[seed] = call(await client.chat.completions.create({ model, messages, tools, tool_choice: "required", temperature: 1, seed, max_tokens: maxTokens }));
  out.named[seed] = call(await client.chat.completions.create({
    model, messages, tools, tool_choice: { type: "function", function: { name: tools[1].function.name } }, temperature: 1, seed, max_tokens: maxTokens,
  }));
}));

// Streamed: the helper accumulates the deltas into the final completion; the raw chunks show their shape.
const stream = client.chat.completions.stream({ model, messages, tools, tool_choice: "required", temperature: 1, seed: 3, max_tokens: maxTokens });
const toolChunks = [];
let argumentDeltas = 0;
stream.on("tool_calls.function.arguments.delta", () => { argumentDeltas++; });
for await (const chunk of stream) {
  for (const choice of chunk.choices) {
    if (choice.delta.tool_calls) {
      toolChunks.push(choice.delta.tool_calls[0]);
    }
  }
}
const final = await stream.finalChatCompletion();
out.streamed = { ...call(final), first: toolChunks[0], rest: toolChunks.slice(1), argumentDeltas };

try {
  const bad = [{ type: "function", function: { name: "lookup", parameters: {
    type: "object", properties: { code: { type: "string", pattern: "^[A-Z]+$" } }, required: ["code"], additionalProperties: false } } }];
  await client.chat.completions.create({ model, messages, tools: bad, tool_choice: "required", max_tokens: 8 });
  out.unsupported = "accepted";
} catch (e) {
  out.unsupported = { status: e.status, param: e.param, code: e.code, message: e.message };
}

console.log(JSON.stringify(out));
