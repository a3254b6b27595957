using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;

namespace Qwen.Infra.Tests.Arm;

/// <summary>
/// Evaluates the subset of ARM template expressions Bicep emits for this repository's templates, so tests can
/// check what a setting or a role assignment scope resolves to rather than pattern-match expression text.
/// </summary>
/// <remarks>
/// Functions whose value only exists at deployment time (<c>reference</c>, <c>resourceGroup</c>, …) evaluate to
/// <see cref="Unresolved"/> carrying their source text, so a test can still see which module output a value
/// comes from. <c>uniqueString</c> is a stand-in (deterministic, not Azure's algorithm): names only need to be
/// stable within one evaluation.
/// </remarks>
public static class ArmExpression
{
    /// <summary>The subscription the evaluator pretends to deploy to.</summary>
    public const string SubscriptionId = "00000000-0000-0000-0000-000000000001";

    /// <summary>Evaluates <paramref name="expression"/> (without the surrounding brackets) in <paramref name="scope"/>.</summary>
    public static object? Evaluate(string expression, ArmScope scope)
    {
        var parser = new Parser(expression, scope);
        var value = parser.ParseExpression();
        parser.ExpectEnd();
        return value;
    }

    private sealed class Parser(string text, ArmScope scope)
    {
        private int _pos;

        public void ExpectEnd()
        {
            SkipSpace();
            if (_pos != text.Length)
            {
                throw new FormatException($"Unexpected '{text[_pos..]}' in ARM expression '{text}'.");
            }
        }

        public object? ParseExpression()
        {
            SkipSpace();
            var start = _pos;
            var value = ParsePrimary();
            while (true)
            {
                SkipSpace();
                if (Peek('.'))
                {
                    _pos++;
                    var member = ReadIdentifier();
                    value = Member(value, member, text[start.._pos]);
                }
                else if (Peek('['))
                {
                    _pos++;
                    var index = ParseExpression();
                    Expect(']');
                    value = Index(value, index, text[start.._pos]);
                }
                else
                {
                    return value;
                }
            }
        }

        private object? ParsePrimary()
        {
            SkipSpace();
            if (Peek('\''))
            {
                return ReadString();
            }
            if (_pos < text.Length && (char.IsDigit(text[_pos]) || text[_pos] == '-'))
            {
                var begin = _pos++;
                while (_pos < text.Length && char.IsDigit(text[_pos]))
                {
                    _pos++;
                }
                return long.Parse(text[begin.._pos], CultureInfo.InvariantCulture);
            }
            var start = _pos;
            var name = ReadIdentifier();
            Expect('(');
            var args = new List<object?>();
            SkipSpace();
            if (!Peek(')'))
            {
                do
                {
                    args.Add(ParseExpression());
                    SkipSpace();
                }
                while (TryConsume(','));
            }
            Expect(')');
            return Call(name, args, text[start.._pos]);
        }

        private object? Call(string name, List<object?> args, string source)
        {
            switch (name.ToLowerInvariant())
            {
                case "parameters":
                    return scope.Parameter(AsText(args[0]));
                case "variables":
                    return scope.Variable(AsText(args[0]));
                case "format":
                    {
                        var format = AsText(args[0]);
                        var values = args.Skip(1).Select(AsText).ToArray();
                        return string.Format(CultureInfo.InvariantCulture, format, values);
                    }
                case "concat" when args.All(a => a is not JsonArray):
                    return string.Concat(args.Select(AsText));
                case "concat":
                    return new JsonArray(args.SelectMany(a => ((JsonArray)a!).Select(n => n?.DeepClone())).ToArray());
                case "tolower":
                    return AsText(args[0]).ToLowerInvariant();
                case "toupper":
                    return AsText(args[0]).ToUpperInvariant();
                case "string":
                    return args[0] is JsonNode node ? node.ToJsonString() : AsText(args[0]);
                case "empty":
                    return args[0] switch
                    {
                        string s => s.Length == 0,
                        JsonArray a => a.Count == 0,
                        JsonObject o => o.Count == 0,
                        null => true,
                        _ => (object)new Unresolved(source),
                    };
                case "not":
                    return args[0] is bool b ? !b : new Unresolved(source);
                case "if":
                    return args[0] is bool condition ? (condition ? args[1] : args[2]) : new Unresolved(source);
                case "greater":
                    return args[0] is long x && args[1] is long y ? x > y : new Unresolved(source);
                case "union":
                    {
                        if (!args.All(a => a is JsonObject))
                        {
                            return new Unresolved(source);
                        }
                        var merged = new JsonObject();
                        foreach (var obj in args.Cast<JsonObject>())
                        {
                            foreach (var (key, value) in obj)
                            {
                                merged[key] = value?.DeepClone();
                            }
                        }
                        return merged;
                    }
                case "createobject":
                    {
                        var created = new JsonObject();
                        for (var i = 0; i + 1 < args.Count; i += 2)
                        {
                            created[AsText(args[i])] = ArmScope.ToNode(args[i + 1]);
                        }
                        return created;
                    }
                case "createarray":
                    return new JsonArray(args.Select(ArmScope.ToNode).ToArray());
                case "uniquestring":
                    return FakeUniqueString(args.Select(AsText));
                case "guid":
                    return new Unresolved(source);
                case "subscription":
                    return new JsonObject
                    {
                        ["id"] = $"/subscriptions/{SubscriptionId}",
                        ["subscriptionId"] = SubscriptionId,
                        ["tenantId"] = "00000000-0000-0000-0000-0000000000aa",
                    };
                case "resourceid":
                    return ResourceId(args);
                case "subscriptionresourceid":
                    return $"/subscriptions/{SubscriptionId}/providers/{ResourceId(args)}";
                case "extensionresourceid":
                    return $"{AsText(args[0])}/providers/{ResourceId(args.Skip(1).ToList())}";
                default:
                    // reference(), resourceGroup(), deployment(), list*() ...: known only at deployment time.
                    return new Unresolved(source);
            }
        }

        // resourceId([subscriptionId], [resourceGroupName], 'Provider/type1/type2', name1, name2)
        // -> 'Provider/type1/name1/type2/name2' (the tests compare the resource path, not the subscription).
        private static string ResourceId(List<object?> args)
        {
            var typeIndex = args.FindIndex(a => AsText(a).Contains('/', StringComparison.Ordinal));
            var typeParts = AsText(args[typeIndex]).Split('/');
            var names = args.Skip(typeIndex + 1).Select(AsText).ToArray();
            if (names.Length != typeParts.Length - 1)
            {
                throw new FormatException($"resourceId for type '{AsText(args[typeIndex])}' got {names.Length} names.");
            }
            var path = new StringBuilder(typeParts[0]);
            for (var i = 1; i < typeParts.Length; i++)
            {
                path.Append('/').Append(typeParts[i]).Append('/').Append(names[i - 1]);
            }
            return path.ToString();
        }

        private static string FakeUniqueString(IEnumerable<string> parts)
        {
            var hash = SHA256.HashData(Encoding.UTF8.GetBytes(string.Join("|", parts)));
            const string alphabet = "abcdefghijklmnopqrstuvwxyz234567";
            var chars = new char[13];
            for (var i = 0; i < chars.Length; i++)
            {
                chars[i] = alphabet[hash[i] % alphabet.Length];
            }
            return new string(chars);
        }

        private static object? Member(object? value, string member, string source) => value switch
        {
            JsonObject obj when obj.TryGetPropertyValue(member, out var child) => Unwrap(child),
            JsonObject => throw new KeyNotFoundException($"'{source}': no member '{member}'."),
            _ => new Unresolved(source),
        };

        private static object? Index(object? value, object? index, string source) => (value, index) switch
        {
            (JsonArray array, long i) => Unwrap(array[(int)i]),
            (JsonObject obj, string key) => Unwrap(obj[key]),
            _ => new Unresolved(source),
        };

        // Members of evaluated objects are already evaluated; turn JSON leaves back into CLR values.
        private static object? Unwrap(JsonNode? node) => node switch
        {
            // Cast: JsonNode converts implicitly from string/bool/long, which would make JsonNode the switch's type.
            JsonValue v when v.TryGetValue<string>(out var s) => (object?)s,
            JsonValue v when v.TryGetValue<bool>(out var b) => b,
            JsonValue v when v.TryGetValue<long>(out var l) => l,
            JsonValue v when v.TryGetValue<int>(out var i) => (long)i,
            _ => node,
        };

        private static string AsText(object? value) => value switch
        {
            null => "",
            string s => s,
            bool b => b ? "True" : "False",
            long l => l.ToString(CultureInfo.InvariantCulture),
            Unresolved u => u.Text,
            JsonNode n => n.ToJsonString(),
            _ => value.ToString() ?? "",
        };

        private string ReadString()
        {
            _pos++; // opening quote
            var sb = new StringBuilder();
            while (true)
            {
                if (_pos >= text.Length)
                {
                    throw new FormatException($"Unterminated string in ARM expression '{text}'.");
                }
                var c = text[_pos++];
                if (c == '\'')
                {
                    if (_pos < text.Length && text[_pos] == '\'')
                    {
                        sb.Append('\'');
                        _pos++;
                        continue;
                    }
                    return sb.ToString();
                }
                sb.Append(c);
            }
        }

        private string ReadIdentifier()
        {
            SkipSpace();
            var start = _pos;
            while (_pos < text.Length && (char.IsLetterOrDigit(text[_pos]) || text[_pos] == '_' || text[_pos] == '$'))
            {
                _pos++;
            }
            if (start == _pos)
            {
                throw new FormatException($"Expected a name at {start} in ARM expression '{text}'.");
            }
            return text[start.._pos];
        }

        private void SkipSpace()
        {
            while (_pos < text.Length && char.IsWhiteSpace(text[_pos]))
            {
                _pos++;
            }
        }

        private bool Peek(char c) => _pos < text.Length && text[_pos] == c;

        private bool TryConsume(char c)
        {
            SkipSpace();
            if (Peek(c))
            {
                _pos++;
                return true;
            }
            return false;
        }

        private void Expect(char c)
        {
            if (!TryConsume(c))
            {
                throw new FormatException($"Expected '{c}' at {_pos} in ARM expression '{text}'.");
            }
        }
    }
}
