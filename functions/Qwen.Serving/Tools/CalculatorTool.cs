using System.Globalization;
using System.Text.Json;

namespace Qwen.Serving.Tools;

/// <summary>Evaluates arithmetic (<c>+ - * / % ^</c>, parentheses, decimals) with a small parser; never compiles or evaluates code.</summary>
public sealed class CalculatorTool : ITool
{
    private const int MaxLength = 512;
    private const int MaxDepth = 64;

    /// <inheritdoc />
    public string Name => "calculator";

    /// <inheritdoc />
    public string HumanName => "Calculator";

    /// <inheritdoc />
    public string Description => "Evaluates an arithmetic expression with + - * / % ^ and parentheses and returns the number.";

    /// <inheritdoc />
    public string ParametersJson => """[{"name": "expression", "description": "arithmetic expression, e.g. (2 + 3) * 4", "required": true, "schema": {"type": "string"}}]""";

    /// <inheritdoc />
    public Task<string> InvokeAsync(string arguments, CancellationToken cancellationToken = default)
    {
        var value = Evaluate(ExtractExpression(arguments));
        return Task.FromResult(Format(value));
    }

    /// <summary>Evaluates <paramref name="expression"/>.</summary>
    /// <exception cref="ArgumentException">Syntax error, division by zero, or a non-finite result; the message names the position.</exception>
    public static double Evaluate(string expression)
    {
        if (expression.Length > MaxLength)
        {
            throw new ArgumentException($"The expression has {expression.Length} characters; the calculator takes at most {MaxLength}.");
        }
        var parser = new Parser(expression);
        var value = parser.ParseExpression(0);
        parser.SkipSpaces();
        if (!parser.AtEnd)
        {
            throw new ArgumentException($"Unexpected '{expression[parser.Position]}' at position {parser.Position + 1} in '{expression}'.");
        }
        if (!double.IsFinite(value))
        {
            throw new ArgumentException($"'{expression}' does not evaluate to a finite number.");
        }
        return value;
    }

    /// <summary>Integers without a decimal point; others with up to 15 significant digits (invariant culture).</summary>
    public static string Format(double value)
        => Math.Abs(value) < 1e15 && value == Math.Floor(value)
            ? ((long)value).ToString(CultureInfo.InvariantCulture)
            : value.ToString("G15", CultureInfo.InvariantCulture);

    private static string ExtractExpression(string arguments)
    {
        var text = arguments.Trim();
        if (text.StartsWith('{'))
        {
            try
            {
                using var doc = JsonDocument.Parse(text);
                if (doc.RootElement.TryGetProperty("expression", out var e) && e.ValueKind == JsonValueKind.String)
                {
                    return e.GetString()!;
                }
            }
            catch (JsonException)
            {
                // fall through: treat the raw text as the expression
            }
            throw new ArgumentException("""The calculator takes {"expression": "<arithmetic>"}.""");
        }
        return text;
    }

    private sealed class Parser(string text)
    {
        public int Position { get; private set; }
        public bool AtEnd => Position >= text.Length;

        // Precedence climbing: 1 = + -, 2 = * / %, 3 = ^ (right-associative).
        public double ParseExpression(int depth)
        {
            var left = ParseTerm(depth);
            while (true)
            {
                SkipSpaces();
                if (AtEnd || (text[Position] != '+' && text[Position] != '-'))
                {
                    return left;
                }
                var op = text[Position++];
                var right = ParseTerm(depth);
                left = op == '+' ? left + right : left - right;
            }
        }

        private double ParseTerm(int depth)
        {
            var left = ParseUnary(depth);
            while (true)
            {
                SkipSpaces();
                if (AtEnd || (text[Position] != '*' && text[Position] != '/' && text[Position] != '%'))
                {
                    return left;
                }
                var op = text[Position++];
                var at = Position;
                var right = ParseUnary(depth);
                if (op != '*' && right == 0)
                {
                    throw new ArgumentException($"Division by zero at position {at + 1} in '{text}'.");
                }
                left = op switch { '*' => left * right, '/' => left / right, _ => left % right };
            }
        }

        // Unary minus binds looser than ^ (-2^2 = -4), as in mathematics.
        private double ParseUnary(int depth)
        {
            if (depth > MaxDepth)
            {
                throw new ArgumentException($"The expression nests deeper than {MaxDepth} levels.");
            }
            SkipSpaces();
            if (!AtEnd && (text[Position] == '-' || text[Position] == '+'))
            {
                var sign = text[Position++];
                var operand = ParseUnary(depth + 1);
                return sign == '-' ? -operand : operand;
            }
            return ParsePower(depth);
        }

        private double ParsePower(int depth)
        {
            var baseValue = ParsePrimary(depth);
            SkipSpaces();
            if (!AtEnd && text[Position] == '^')
            {
                Position++;
                return Math.Pow(baseValue, ParseUnary(depth + 1));
            }
            return baseValue;
        }

        private double ParsePrimary(int depth)
        {
            SkipSpaces();
            if (AtEnd)
            {
                throw new ArgumentException($"The expression '{text}' ends where a number was expected.");
            }
            if (text[Position] == '(')
            {
                Position++;
                var inner = ParseExpression(depth + 1);
                SkipSpaces();
                if (AtEnd || text[Position] != ')')
                {
                    throw new ArgumentException($"Missing ')' at position {Position + 1} in '{text}'.");
                }
                Position++;
                return inner;
            }
            return ParseNumber();
        }

        private double ParseNumber()
        {
            var start = Position;
            while (!AtEnd && (char.IsAsciiDigit(text[Position]) || text[Position] == '.'))
            {
                Position++;
            }
            if (!AtEnd && (text[Position] == 'e' || text[Position] == 'E') && Position > start)
            {
                var save = Position++;
                if (!AtEnd && (text[Position] == '+' || text[Position] == '-'))
                {
                    Position++;
                }
                var digits = Position;
                while (!AtEnd && char.IsAsciiDigit(text[Position]))
                {
                    Position++;
                }
                if (Position == digits)
                {
                    Position = save;
                }
            }
            if (Position == start || !double.TryParse(text.AsSpan(start, Position - start), NumberStyles.Float, CultureInfo.InvariantCulture, out var value))
            {
                throw new ArgumentException($"Expected a number at position {start + 1} in '{text}'.");
            }
            return value;
        }

        public void SkipSpaces()
        {
            while (!AtEnd && char.IsWhiteSpace(text[Position]))
            {
                Position++;
            }
        }
    }
}
