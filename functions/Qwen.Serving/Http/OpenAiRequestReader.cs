using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Qwen.Inference.Constraints;

namespace Qwen.Serving.Http;

/// <summary>Turns request JSON into a validated <see cref="ChatCompletionRequest"/>; every failure names the field at fault.</summary>
public static partial class OpenAiRequestReader
{
    private static readonly string[] KnownRoles = ["system", "user", "assistant", "tool", "function", "developer"];

    /// <summary>Parses a body: UTF-8 JSON whose root is an object.</summary>
    /// <exception cref="OpenAiException">400 for malformed or non-object JSON.</exception>
    public static JsonDocument ParseBody(ReadOnlyMemory<byte> body)
    {
        if (body.Length == 0)
        {
            throw OpenAiException.InvalidJson("the body is empty");
        }
        if (!System.Text.Unicode.Utf8.IsValid(body.Span))
        {
            throw OpenAiException.InvalidJson("the body is not valid UTF-8");
        }
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(body, new JsonDocumentOptions { MaxDepth = 64 });
        }
        catch (JsonException ex)
        {
            throw OpenAiException.InvalidJson(ex.Message);
        }
        var kind = doc.RootElement.ValueKind;
        if (kind != JsonValueKind.Object)
        {
            doc.Dispose();
            throw OpenAiException.InvalidJson($"the root is a JSON {Kind(kind)}, not an object");
        }
        if (FindInvalidString(doc.RootElement, "") is { } path)
        {
            doc.Dispose();
            throw OpenAiException.InvalidJson($"the string at {(path.Length == 0 ? "the root" : path)} escapes an unpaired UTF-16 surrogate (such as \\ud800), which is not text");
        }
        return doc;
    }

    // Valid UTF-8 bytes can still escape a lone surrogate ("\ud800"); GetString() would throw on it later, deep in a
    // handler. One pass up front turns that into a 400 naming the place. Returns the JSON path of the first bad string.
    private static string? FindInvalidString(JsonElement element, string path)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.String:
                return IsValidText(element) ? null : path;
            case JsonValueKind.Array:
                var i = 0;
                foreach (var item in element.EnumerateArray())
                {
                    if (FindInvalidString(item, $"{path}[{i++}]") is { } bad)
                    {
                        return bad;
                    }
                }
                return null;
            case JsonValueKind.Object:
                foreach (var property in element.EnumerateObject())
                {
                    string name;
                    try
                    {
                        name = property.Name;
                    }
                    catch (InvalidOperationException)
                    {
                        return path.Length == 0 ? "a property name" : $"a property name in {path}";
                    }
                    if (FindInvalidString(property.Value, path.Length == 0 ? name : $"{path}.{name}") is { } bad)
                    {
                        return bad;
                    }
                }
                return null;
            default:
                return null;
        }
    }

    private static bool IsValidText(JsonElement element)
    {
        try
        {
            _ = element.GetString();
            return true;
        }
        catch (InvalidOperationException)
        {
            return false;
        }
    }

    // Parameters both endpoints implement, and the ones OpenAI documents as advisory (accepted, no effect on output).
    private static readonly string[] CommonParameters =
    [
        "model", "temperature", "top_p", "top_k", "n", "stream", "stream_options", "stop", "max_tokens", "presence_penalty",
        "frequency_penalty", "repetition_penalty", "logit_bias", "logprobs", "seed", "user", "metadata", "store", "service_tier",
        "response_format",
    ];

    private static readonly HashSet<string> ChatParameters = new(CommonParameters.Concat(
        ["messages", "max_completion_tokens", "top_logprobs", "tools", "tool_choice", "functions", "function_call", "parallel_tool_calls"]), StringComparer.Ordinal);

    private static readonly HashSet<string> CompletionParameters = new(CommonParameters.Concat(["prompt", "echo", "best_of"]), StringComparer.Ordinal);

    /// <summary>Refuses a parameter this server does not implement, so a client never mistakes an ignored setting for an applied one.</summary>
    private static void CheckParameters(JsonElement root, HashSet<string> known, string endpoint)
    {
        foreach (var property in root.EnumerateObject())
        {
            if (!known.Contains(property.Name))
            {
                throw OpenAiException.Invalid(property.Name,
                    $"Unrecognized request argument supplied: {property.Name}. {endpoint} on this server takes: {string.Join(", ", known.Order(StringComparer.Ordinal))}.",
                    "unsupported_parameter");
            }
        }
        // One tool call per assistant message is Qwen's ReAct format; asking for parallel calls cannot be honoured.
        if (root.TryGetProperty("parallel_tool_calls", out var parallel) && parallel.ValueKind != JsonValueKind.False && parallel.ValueKind != JsonValueKind.Null)
        {
            throw OpenAiException.Invalid("parallel_tool_calls", "This server returns at most one tool call per assistant message (Qwen's ReAct format); send parallel_tool_calls: false or omit it.", "unsupported_parameter");
        }
    }

    /// <summary>Reads a /v1/chat/completions body.</summary>
    public static ChatCompletionRequest ReadChat(JsonElement root, int maxChoices)
    {
        CheckParameters(root, ChatParameters, "/v1/chat/completions");
        var request = ReadCommon(root, maxChoices);
        var messages = ReadMessages(root);
        var (tools, legacy) = ReadTools(root);
        var choice = ReadToolChoice(root, tools, legacy);
        var logprobs = OptBool(root, "logprobs") ?? false;
        var topLogprobs = OptInt(root, "top_logprobs", 0, 20);
        if (topLogprobs is > 0 && !logprobs)
        {
            throw OpenAiException.Invalid("top_logprobs", "top_logprobs requires logprobs to be true.");
        }
        if (request.ResponseGrammar is not null && choice.Mode == "auto" && tools.Count > 0)
        {
            // The ReAct reply is "Thought/Action" or "Thought/Final Answer" text; JSON-only output would leave no room for a call.
            throw OpenAiException.Invalid("response_format",
                $"response_format with tools and {(legacy ? "function_call" : "tool_choice")} \"auto\" is not supported (Qwen's ReAct format replies in text); send tool_choice \"none\" for JSON output, or \"required\" / a named function for a call.",
                "unsupported_parameter");
        }
        if (request.Stop.Count > 0 && (choice.Mode is "required" or "function" || (request.ResponseGrammar is not null && choice.Mode == "none")))
        {
            throw StopWithGrammar(choice.Mode is "required" or "function" ? (legacy ? "function_call" : "tool_choice") : "response_format");
        }
        return request with
        {
            Messages = messages,
            Tools = choice.Mode == "none" ? [] : tools,
            LegacyFunctions = legacy,
            ToolChoice = choice,
            Logprobs = logprobs,
            TopLogprobs = topLogprobs ?? 0,
            MaxTokens = OptInt(root, "max_completion_tokens", 1, int.MaxValue, "must be at least 1") ?? request.MaxTokens,
        };
    }

    /// <summary>Reads a /v1/completions body: prompt as text or token ids (a one-element array of either is accepted).</summary>
    /// <remarks>
    /// <c>max_tokens: 0</c> is allowed with <c>echo: true</c> only: the prompt is scored and nothing generated (vLLM's
    /// prompt log-probabilities; lm-evaluation-harness sends <c>max_tokens: 1</c>, which works too).
    /// </remarks>
    public static ChatCompletionRequest ReadCompletion(JsonElement root, int maxChoices)
    {
        CheckParameters(root, CompletionParameters, "/v1/completions");
        var request = ReadCommon(root, maxChoices, minMaxTokens: 0);
        if (!root.TryGetProperty("prompt", out var prompt) || prompt.ValueKind == JsonValueKind.Null)
        {
            throw OpenAiException.Invalid("prompt", "'prompt' is required: a string or an array of token ids.");
        }
        string? text = null;
        List<int>? ids = null;
        if (prompt.ValueKind == JsonValueKind.Array && prompt.GetArrayLength() == 1 &&
            prompt[0].ValueKind is JsonValueKind.String or JsonValueKind.Array)
        {
            prompt = prompt[0];
        }
        switch (prompt.ValueKind)
        {
            case JsonValueKind.String:
                text = prompt.GetString()!;
                break;
            case JsonValueKind.Array:
                ids = [];
                foreach (var item in prompt.EnumerateArray())
                {
                    if (item.ValueKind != JsonValueKind.Number || !item.TryGetInt32(out var id) || id < 0)
                    {
                        throw OpenAiException.Invalid("prompt", "'prompt' as an array must hold non-negative integer token ids (one prompt per request).");
                    }
                    ids.Add(id);
                }
                if (ids.Count == 0)
                {
                    throw OpenAiException.Invalid("prompt", "'prompt' is empty.");
                }
                break;
            default:
                throw OpenAiException.Invalid("prompt", $"'prompt' must be a string or an array of token ids, not a {Kind(prompt.ValueKind)}.");
        }
        if (root.TryGetProperty("best_of", out var bestOf) && bestOf.ValueKind != JsonValueKind.Null &&
            (!bestOf.TryGetInt32(out var b) || b != 1))
        {
            throw OpenAiException.Invalid("best_of", "best_of other than 1 is not supported; use n.");
        }
        var logprobs = OptInt(root, "logprobs", 0, 5);
        var echo = OptBool(root, "echo") ?? false;
        if (request.MaxTokens == 0 && (!echo || request.Stream))
        {
            throw OpenAiException.Invalid("max_tokens", echo
                ? "'max_tokens' 0 (score the prompt only) is not supported with stream: true."
                : "'max_tokens' is 0; it must be at least 1, or 0 together with echo: true to score the prompt only.");
        }
        if (request.Stop.Count > 0 && request.ResponseGrammar is not null)
        {
            throw StopWithGrammar("response_format");
        }
        return request with
        {
            PromptText = text,
            PromptTokens = ids,
            Echo = echo,
            Logprobs = logprobs is not null,
            TopLogprobs = logprobs ?? 0,
        };
    }

    // A constrained output ends where its grammar does; a stop string would cut a JSON value in half (at a "}" inside a
    // string), so the engine ignores stops under a constraint and the API refuses the combination rather than ignore it.
    private static OpenAiException StopWithGrammar(string cause) => OpenAiException.Invalid("stop",
        $"'stop' cannot be combined with {cause}: the output is constrained to a grammar, which decides where it ends. Remove 'stop'.",
        "unsupported_parameter");

    private static ChatCompletionRequest ReadCommon(JsonElement root, int maxChoices, int minMaxTokens = 1)
    {
        var stream = OptBool(root, "stream") ?? false;
        var includeUsage = false;
        if (root.TryGetProperty("stream_options", out var so) && so.ValueKind != JsonValueKind.Null)
        {
            if (so.ValueKind != JsonValueKind.Object)
            {
                throw OpenAiException.Invalid("stream_options", $"'stream_options' must be an object, not a {Kind(so.ValueKind)}.");
            }
            if (!stream)
            {
                throw OpenAiException.Invalid("stream_options", "stream_options is only allowed when stream is true.");
            }
            includeUsage = OptBool(so, "include_usage", "stream_options.include_usage") ?? false;
        }
        return new ChatCompletionRequest
        {
            Model = OptString(root, "model"),
            Temperature = OptDouble(root, "temperature", 0, 2),
            TopP = OptDouble(root, "top_p", 0, 1, exclusiveMin: true),
            TopK = OptInt(root, "top_k", 0, int.MaxValue, "must be 0 (off) or more"),
            RepetitionPenalty = OptDouble(root, "repetition_penalty", 0, 10, exclusiveMin: true),
            MaxTokens = OptInt(root, "max_tokens", minMaxTokens, int.MaxValue, $"must be at least {minMaxTokens}"),
            Stop = ReadStop(root),
            N = OptInt(root, "n", 1, maxChoices, $"must be between 1 and {maxChoices}") ?? 1,
            Seed = OptLong(root, "seed"),
            PresencePenalty = OptDouble(root, "presence_penalty", -2, 2) ?? 0,
            FrequencyPenalty = OptDouble(root, "frequency_penalty", -2, 2) ?? 0,
            LogitBias = ReadLogitBias(root),
            User = OptString(root, "user"),
            Stream = stream,
            IncludeUsage = includeUsage,
            ResponseGrammar = ReadResponseFormat(root),
        };
    }

    /// <summary>
    /// <c>response_format</c>: <c>{"type":"text"}</c> (no constraint), <c>{"type":"json_object"}</c> (any JSON object) or
    /// <c>{"type":"json_schema","json_schema":{"name","schema","strict","description"}}</c> (the schema, checked against the
    /// supported subset now so an unsupported keyword is a 400 naming it).
    /// </summary>
    private static Grammar? ReadResponseFormat(JsonElement root)
    {
        const string Field = "response_format";
        if (!root.TryGetProperty(Field, out var format) || format.ValueKind == JsonValueKind.Null)
        {
            return null;
        }
        if (format.ValueKind != JsonValueKind.Object)
        {
            throw OpenAiException.Invalid(Field, $"'{Field}' must be an object such as {{\"type\": \"json_object\"}}, not a {Kind(format.ValueKind)}.");
        }
        var type = OptString(format, "type", $"{Field}.type")
            ?? throw OpenAiException.Invalid($"{Field}.type", $"'{Field}.type' is required: text, json_object or json_schema.");
        switch (type)
        {
            case "text":
                return null;
            case "json_object":
                return Grammar.JsonObject();
            case "json_schema":
                break;
            default:
                throw OpenAiException.Invalid($"{Field}.type", $"'{Field}.type' is '{type}'; use text, json_object or json_schema.");
        }
        if (!format.TryGetProperty("json_schema", out var spec) || spec.ValueKind != JsonValueKind.Object)
        {
            throw OpenAiException.Invalid($"{Field}.json_schema", $"'{Field}.json_schema' is required with type json_schema: an object with name and schema.");
        }
        var name = OptString(spec, "name", $"{Field}.json_schema.name")
            ?? throw OpenAiException.Invalid($"{Field}.json_schema.name", $"'{Field}.json_schema.name' is required.");
        if (!FunctionName().IsMatch(name))
        {
            throw OpenAiException.Invalid($"{Field}.json_schema.name", $"'{Field}.json_schema.name' is '{name}'; a name is 1-64 letters, digits, '_' or '-'.");
        }
        _ = OptString(spec, "description", $"{Field}.json_schema.description");
        // strict false asks less than we do: the schema is enforced either way.
        _ = OptBool(spec, "strict", $"{Field}.json_schema.strict");
        if (!spec.TryGetProperty("schema", out var schema) || schema.ValueKind == JsonValueKind.Null)
        {
            throw OpenAiException.Invalid($"{Field}.json_schema.schema", $"'{Field}.json_schema.schema' is required: the JSON Schema the output must follow.");
        }
        if (schema.ValueKind != JsonValueKind.Object)
        {
            throw OpenAiException.Invalid($"{Field}.json_schema.schema", $"'{Field}.json_schema.schema' must be a JSON Schema object, not a {Kind(schema.ValueKind)}.");
        }
        try
        {
            return Grammar.JsonSchema(schema);
        }
        catch (UnsupportedSchemaException ex)
        {
            throw OpenAiException.Invalid(Field,
                $"Invalid schema for response_format '{name}': '{ex.Keyword}' at '{(ex.Path.Length == 0 ? "/" : ex.Path)}' is not supported. {ex.Message}",
                "unsupported_schema");
        }
    }

    private static List<ChatMessageInput> ReadMessages(JsonElement root)
    {
        if (!root.TryGetProperty("messages", out var messages) || messages.ValueKind == JsonValueKind.Null)
        {
            throw OpenAiException.Invalid("messages", "'messages' is required: a non-empty array of messages.");
        }
        if (messages.ValueKind != JsonValueKind.Array)
        {
            throw OpenAiException.Invalid("messages", $"'messages' must be an array, not a {Kind(messages.ValueKind)}.");
        }
        if (messages.GetArrayLength() == 0)
        {
            throw OpenAiException.Invalid("messages", "'messages' is empty; send at least one message.", "empty_array");
        }
        var list = new List<ChatMessageInput>();
        var i = 0;
        foreach (var m in messages.EnumerateArray())
        {
            var at = $"messages[{i}]";
            if (m.ValueKind != JsonValueKind.Object)
            {
                throw OpenAiException.Invalid(at, $"'{at}' must be an object, not a {Kind(m.ValueKind)}.");
            }
            var role = OptString(m, "role", $"{at}.role")
                ?? throw OpenAiException.Invalid($"{at}.role", $"'{at}.role' is required.");
            if (!KnownRoles.Contains(role))
            {
                throw OpenAiException.Invalid($"{at}.role", $"'{role}' is not a supported role in '{at}.role'; use one of system, user, assistant, tool.");
            }
            var content = ReadContent(m, $"{at}.content");
            var name = OptString(m, "name", $"{at}.name");
            List<ToolCallInput>? calls = null;
            string? toolCallId = null;
            switch (role)
            {
                case "developer":
                    role = "system";
                    break;
                case "assistant":
                    calls = ReadToolCalls(m, at);
                    if (m.TryGetProperty("function_call", out var fc) && fc.ValueKind != JsonValueKind.Null)
                    {
                        calls ??= [];
                        calls.Add(ReadFunction(fc, $"{at}.function_call", $"call_{i}"));
                    }
                    if (content is null && calls is null)
                    {
                        throw OpenAiException.Invalid($"{at}.content", $"'{at}' has neither content nor tool_calls.");
                    }
                    break;
                case "tool":
                    toolCallId = OptString(m, "tool_call_id", $"{at}.tool_call_id")
                        ?? throw OpenAiException.Invalid($"{at}.tool_call_id", $"'{at}.tool_call_id' is required for a tool message.");
                    break;
                case "function":
                    role = "tool";
                    if (name is null)
                    {
                        throw OpenAiException.Invalid($"{at}.name", $"'{at}.name' is required for a function message.");
                    }
                    break;
            }
            if (content is null && role != "assistant")
            {
                throw OpenAiException.Invalid($"{at}.content", $"'{at}.content' is required for a {role} message.");
            }
            list.Add(new ChatMessageInput(role, content, name, calls, toolCallId));
            i++;
        }
        return list;
    }

    private static string? ReadContent(JsonElement message, string at)
    {
        if (!message.TryGetProperty("content", out var c) || c.ValueKind == JsonValueKind.Null)
        {
            return null;
        }
        if (c.ValueKind == JsonValueKind.String)
        {
            return c.GetString();
        }
        if (c.ValueKind != JsonValueKind.Array)
        {
            throw OpenAiException.Invalid(at, $"'{at}' must be a string or an array of text parts, not a {Kind(c.ValueKind)}.");
        }
        var sb = new StringBuilder();
        var i = 0;
        foreach (var part in c.EnumerateArray())
        {
            var pat = $"{at}[{i++}]";
            if (part.ValueKind != JsonValueKind.Object)
            {
                throw OpenAiException.Invalid(pat, $"'{pat}' must be an object like {{\"type\":\"text\",\"text\":\"...\"}}.");
            }
            var type = OptString(part, "type", $"{pat}.type");
            if (type != "text")
            {
                throw OpenAiException.Invalid($"{pat}.type", $"'{pat}.type' is '{type}'; this model reads only text parts (type 'text').");
            }
            sb.Append(OptString(part, "text", $"{pat}.text")
                ?? throw OpenAiException.Invalid($"{pat}.text", $"'{pat}.text' is required."));
        }
        return sb.ToString();
    }

    private static List<ToolCallInput>? ReadToolCalls(JsonElement message, string at)
    {
        if (!message.TryGetProperty("tool_calls", out var tc) || tc.ValueKind == JsonValueKind.Null)
        {
            return null;
        }
        if (tc.ValueKind != JsonValueKind.Array)
        {
            throw OpenAiException.Invalid($"{at}.tool_calls", $"'{at}.tool_calls' must be an array.");
        }
        var calls = new List<ToolCallInput>();
        var i = 0;
        foreach (var call in tc.EnumerateArray())
        {
            var cat = $"{at}.tool_calls[{i++}]";
            if (call.ValueKind != JsonValueKind.Object)
            {
                throw OpenAiException.Invalid(cat, $"'{cat}' must be an object.");
            }
            var type = OptString(call, "type", $"{cat}.type") ?? "function";
            if (type != "function")
            {
                throw OpenAiException.Invalid($"{cat}.type", $"'{cat}.type' must be 'function'.");
            }
            if (!call.TryGetProperty("function", out var f))
            {
                throw OpenAiException.Invalid($"{cat}.function", $"'{cat}.function' is required.");
            }
            var id = OptString(call, "id", $"{cat}.id") ?? $"call_{i}";
            calls.Add(ReadFunction(f, $"{cat}.function", id));
        }
        return calls.Count == 0 ? null : calls;
    }

    private static ToolCallInput ReadFunction(JsonElement f, string at, string id)
    {
        if (f.ValueKind != JsonValueKind.Object)
        {
            throw OpenAiException.Invalid(at, $"'{at}' must be an object with name and arguments.");
        }
        var name = OptString(f, "name", $"{at}.name") ?? throw OpenAiException.Invalid($"{at}.name", $"'{at}.name' is required.");
        var args = OptString(f, "arguments", $"{at}.arguments") ?? "{}";
        return new ToolCallInput(id, name, args);
    }

    private static (List<ToolDefinition> Tools, bool Legacy) ReadTools(JsonElement root)
    {
        var tools = new List<ToolDefinition>();
        var legacy = false;
        if (root.TryGetProperty("tools", out var t) && t.ValueKind != JsonValueKind.Null)
        {
            if (t.ValueKind != JsonValueKind.Array)
            {
                throw OpenAiException.Invalid("tools", $"'tools' must be an array, not a {Kind(t.ValueKind)}.");
            }
            var i = 0;
            foreach (var tool in t.EnumerateArray())
            {
                var at = $"tools[{i++}]";
                if (tool.ValueKind != JsonValueKind.Object)
                {
                    throw OpenAiException.Invalid(at, $"'{at}' must be an object.");
                }
                var type = OptString(tool, "type", $"{at}.type");
                if (type != "function")
                {
                    throw OpenAiException.Invalid($"{at}.type", $"'{at}.type' must be 'function'.");
                }
                if (!tool.TryGetProperty("function", out var f))
                {
                    throw OpenAiException.Invalid($"{at}.function", $"'{at}.function' is required.");
                }
                tools.Add(ReadToolDefinition(f, $"{at}.function"));
            }
        }
        if (root.TryGetProperty("functions", out var fs) && fs.ValueKind != JsonValueKind.Null)
        {
            if (tools.Count > 0)
            {
                throw OpenAiException.Invalid("functions", "Send either 'tools' or the legacy 'functions', not both.");
            }
            if (fs.ValueKind != JsonValueKind.Array)
            {
                throw OpenAiException.Invalid("functions", $"'functions' must be an array, not a {Kind(fs.ValueKind)}.");
            }
            var i = 0;
            foreach (var f in fs.EnumerateArray())
            {
                tools.Add(ReadToolDefinition(f, $"functions[{i++}]"));
            }
            legacy = true;
        }
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var tool in tools)
        {
            if (!names.Add(tool.Name))
            {
                throw OpenAiException.Invalid(legacy ? "functions" : "tools", $"The function name '{tool.Name}' appears twice.");
            }
        }
        return (tools, legacy);
    }

    private static ToolDefinition ReadToolDefinition(JsonElement f, string at)
    {
        if (f.ValueKind != JsonValueKind.Object)
        {
            throw OpenAiException.Invalid(at, $"'{at}' must be an object.");
        }
        var name = OptString(f, "name", $"{at}.name") ?? throw OpenAiException.Invalid($"{at}.name", $"'{at}.name' is required.");
        if (!FunctionName().IsMatch(name))
        {
            throw OpenAiException.Invalid($"{at}.name", $"'{at}.name' is '{name}'; a function name is 1-64 letters, digits, '_' or '-'.");
        }
        var description = OptString(f, "description", $"{at}.description");
        string? parameters = null;
        if (f.TryGetProperty("parameters", out var p) && p.ValueKind != JsonValueKind.Null)
        {
            if (p.ValueKind != JsonValueKind.Object)
            {
                throw OpenAiException.Invalid($"{at}.parameters", $"'{at}.parameters' must be a JSON Schema object, not a {Kind(p.ValueKind)}.", "invalid_function_parameters");
            }
            if (p.TryGetProperty("type", out var pt) && (pt.ValueKind != JsonValueKind.String || pt.GetString() != "object"))
            {
                throw OpenAiException.Invalid($"{at}.parameters", $"'{at}.parameters.type' must be \"object\".", "invalid_function_parameters");
            }
            if (p.TryGetProperty("properties", out var props) && props.ValueKind != JsonValueKind.Object)
            {
                throw OpenAiException.Invalid($"{at}.parameters", $"'{at}.parameters.properties' must be an object.", "invalid_function_parameters");
            }
            if (p.TryGetProperty("required", out var req) && req.ValueKind != JsonValueKind.Array)
            {
                throw OpenAiException.Invalid($"{at}.parameters", $"'{at}.parameters.required' must be an array of names.", "invalid_function_parameters");
            }
            parameters = p.GetRawText();
        }
        return new ToolDefinition(name, description, parameters);
    }

    private static ToolChoice ReadToolChoice(JsonElement root, List<ToolDefinition> tools, bool legacy)
    {
        var field = legacy ? "function_call" : "tool_choice";
        if (!root.TryGetProperty(field, out var c) || c.ValueKind == JsonValueKind.Null)
        {
            return tools.Count == 0 ? ToolChoice.None : ToolChoice.Auto;
        }
        ToolChoice choice;
        if (c.ValueKind == JsonValueKind.String)
        {
            var mode = c.GetString();
            if (mode is not ("none" or "auto" or "required"))
            {
                throw OpenAiException.Invalid(field, $"'{field}' is '{mode}'; use none, auto, required or an object naming a function.");
            }
            choice = new ToolChoice(mode);
        }
        else if (c.ValueKind == JsonValueKind.Object)
        {
            var fn = legacy ? c : (c.TryGetProperty("function", out var f) ? f : default);
            var name = fn.ValueKind == JsonValueKind.Object ? OptString(fn, "name", $"{field}.name") : null;
            if (name is null)
            {
                throw OpenAiException.Invalid(field, $"'{field}' as an object must name a function.");
            }
            if (!tools.Any(t => t.Name == name))
            {
                throw OpenAiException.Invalid(field, $"'{field}' names '{name}', which is not among the tools.");
            }
            choice = new ToolChoice("function", name);
        }
        else
        {
            throw OpenAiException.Invalid(field, $"'{field}' must be a string or an object, not a {Kind(c.ValueKind)}.");
        }
        if (tools.Count == 0 && choice.Mode is "required" or "function")
        {
            throw OpenAiException.Invalid(field, $"'{field}' requires tools, but the request has none.");
        }
        return choice;
    }

    private static List<string> ReadStop(JsonElement root)
    {
        if (!root.TryGetProperty("stop", out var s) || s.ValueKind == JsonValueKind.Null)
        {
            return [];
        }
        var list = new List<string>();
        if (s.ValueKind == JsonValueKind.String)
        {
            list.Add(s.GetString()!);
        }
        else if (s.ValueKind == JsonValueKind.Array)
        {
            foreach (var item in s.EnumerateArray())
            {
                if (item.ValueKind != JsonValueKind.String)
                {
                    throw OpenAiException.Invalid("stop", $"'stop' must be a string or an array of strings; found a {Kind(item.ValueKind)}.");
                }
                list.Add(item.GetString()!);
            }
        }
        else
        {
            throw OpenAiException.Invalid("stop", $"'stop' must be a string or an array of strings, not a {Kind(s.ValueKind)}.");
        }
        if (list.Count > 4)
        {
            throw OpenAiException.Invalid("stop", $"'stop' has {list.Count} sequences; at most 4 are allowed.");
        }
        if (list.Any(string.IsNullOrEmpty))
        {
            throw OpenAiException.Invalid("stop", "'stop' sequences must not be empty.");
        }
        return list;
    }

    private static Dictionary<int, float>? ReadLogitBias(JsonElement root)
    {
        if (!root.TryGetProperty("logit_bias", out var lb) || lb.ValueKind == JsonValueKind.Null)
        {
            return null;
        }
        if (lb.ValueKind != JsonValueKind.Object)
        {
            throw OpenAiException.Invalid("logit_bias", $"'logit_bias' must be an object mapping token ids to numbers, not a {Kind(lb.ValueKind)}.");
        }
        var bias = new Dictionary<int, float>();
        foreach (var p in lb.EnumerateObject())
        {
            if (!int.TryParse(p.Name, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var id) ||
                id >= Qwen.Inference.Tokenization.QwenTokenizer.VocabCount)
            {
                throw OpenAiException.Invalid("logit_bias", $"'logit_bias' key '{p.Name}' is not a token id (0 to {Qwen.Inference.Tokenization.QwenTokenizer.VocabCount - 1}).");
            }
            if (p.Value.ValueKind != JsonValueKind.Number || p.Value.GetDouble() is < -100 or > 100)
            {
                throw OpenAiException.Invalid("logit_bias", $"'logit_bias[{p.Name}]' must be a number from -100 to 100.");
            }
            bias[id] = (float)p.Value.GetDouble();
        }
        return bias;
    }

    internal static string? OptString(JsonElement obj, string name, string? param = null)
    {
        if (!obj.TryGetProperty(name, out var v) || v.ValueKind == JsonValueKind.Null)
        {
            return null;
        }
        if (v.ValueKind != JsonValueKind.String)
        {
            throw OpenAiException.Invalid(param ?? name, $"'{param ?? name}' must be a string, not a {Kind(v.ValueKind)}.");
        }
        return v.GetString();
    }

    internal static bool? OptBool(JsonElement obj, string name, string? param = null)
    {
        if (!obj.TryGetProperty(name, out var v) || v.ValueKind == JsonValueKind.Null)
        {
            return null;
        }
        if (v.ValueKind is not (JsonValueKind.True or JsonValueKind.False))
        {
            throw OpenAiException.Invalid(param ?? name, $"'{param ?? name}' must be a boolean, not a {Kind(v.ValueKind)}.");
        }
        return v.GetBoolean();
    }

    internal static int? OptInt(JsonElement obj, string name, int min, int max, string? rangeText = null)
    {
        if (!obj.TryGetProperty(name, out var v) || v.ValueKind == JsonValueKind.Null)
        {
            return null;
        }
        if (v.ValueKind != JsonValueKind.Number || !v.TryGetInt64(out var l))
        {
            throw OpenAiException.Invalid(name, $"'{name}' must be an integer, not {(v.ValueKind == JsonValueKind.Number ? v.GetRawText() : "a " + Kind(v.ValueKind))}.");
        }
        if (l < min || l > max)
        {
            throw OpenAiException.Invalid(name, $"'{name}' is {l}; it {rangeText ?? $"must be between {min} and {max}"}.");
        }
        return (int)l;
    }

    internal static long? OptLong(JsonElement obj, string name)
    {
        if (!obj.TryGetProperty(name, out var v) || v.ValueKind == JsonValueKind.Null)
        {
            return null;
        }
        if (v.ValueKind != JsonValueKind.Number || !v.TryGetInt64(out var l))
        {
            throw OpenAiException.Invalid(name, $"'{name}' must be an integer.");
        }
        return l;
    }

    internal static double? OptDouble(JsonElement obj, string name, double min, double max, bool exclusiveMin = false)
    {
        if (!obj.TryGetProperty(name, out var v) || v.ValueKind == JsonValueKind.Null)
        {
            return null;
        }
        if (v.ValueKind != JsonValueKind.Number)
        {
            throw OpenAiException.Invalid(name, $"'{name}' must be a number, not a {Kind(v.ValueKind)}.");
        }
        var d = v.GetDouble();
        if (d > max || d < min || (exclusiveMin && d <= min) || double.IsNaN(d))
        {
            throw OpenAiException.Invalid(name, $"'{name}' is {v.GetRawText()}; it must be {(exclusiveMin ? "above" : "at least")} {min} and at most {max}.");
        }
        return d;
    }

    internal static string Kind(JsonValueKind kind) => kind switch
    {
        JsonValueKind.Object => "object",
        JsonValueKind.Array => "array",
        JsonValueKind.String => "string",
        JsonValueKind.Number => "number",
        JsonValueKind.True or JsonValueKind.False => "boolean",
        JsonValueKind.Null => "null",
        _ => "value",
    };

    [GeneratedRegex("^[a-zA-Z0-9_-]{1,64}$")]
    private static partial Regex FunctionName();
}
