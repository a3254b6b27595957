// A streamed tool call and a streamed not-offered Action with the official `openai` npm package, against the fake engine
// scripted by the test (ScriptedReActEngine): QWEN_TOOLS are the request's tools.
import OpenAI from "openai";

const client = new OpenAI({ baseURL: process.env.QWEN_BASE_URL, apiKey: process.env.QWEN_KEY, maxRetries: 0 });
const model = process.env.QWEN_MODEL ?? "qwen-test";
const tools = JSON.parse(process.env.QWEN_TOOLS);
const out = {};

async function run(question) {
  const stream = client.chat.completions.stream({ model, messages: [{ role: "user", content: question }], tools });
  const chunks = [];
  let argumentDeltas = 0;
  stream.on("tool_calls.function.arguments.delta", () => { argumentDeltas++; });
  for await (const chunk of stream) {
    for (const choice of chunk.choices) {
      chunks.push({ delta: choice.delta, finish: choice.finish_reason });
    }
  }
  const final = await stream.finalChatCompletion();
  const message = final.choices[0].message;
  return {
    finish: final.choices[0].finish_reason,
    content: message.content,
    calls: (message.tool_calls ?? []).map((c) => ({ id: c.id, name: c.function.name, arguments: c.function.arguments })),
    toolChunks: chunks.filter((c) => c.delta.tool_calls).map((c) => c.delta.tool_calls[0]),
    argumentDeltas,
  };
}

out.offered = await run("What is the weather in Paris?");
out.notOffered = await run("Summarize the attached document.");
console.log(JSON.stringify(out));
