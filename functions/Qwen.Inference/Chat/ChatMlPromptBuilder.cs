using System.Text;
using Qwen.Inference.Tokenization;

namespace Qwen.Inference.Chat;

/// <summary>
/// Builds Qwen-7B-Chat ChatML prompts exactly as the reference <c>make_context</c> does (spec §5.1), and the raw
/// format of the base model.
/// </summary>
/// <remarks>
/// Roles and contents are encoded separately as plain text and <c>&lt;|im_start|&gt;</c>/<c>&lt;|im_end|&gt;</c> are
/// inserted as ids, so text typed by a user can never become a control token. Thread-safe (stateless over a
/// thread-safe tokenizer).
/// </remarks>
public sealed class ChatMlPromptBuilder
{
    /// <summary>The system prompt used when none is given.</summary>
    public const string DefaultSystem = "You are a helpful assistant.";

    /// <summary>The reference default for <c>max_window_size</c>.</summary>
    public const int DefaultMaxWindowSize = 6144;

    private static readonly int[] Nl = [198];
    private readonly QwenTokenizer _tokenizer;

    /// <summary>Creates a builder over the Qwen tokenizer.</summary>
    public ChatMlPromptBuilder(QwenTokenizer tokenizer)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        _tokenizer = tokenizer;
    }

    /// <summary>The tokenizer the builder encodes with.</summary>
    public QwenTokenizer Tokenizer => _tokenizer;

    /// <summary>
    /// The chat prompt for <paramref name="query"/> after <paramref name="history"/> (oldest first). History is kept
    /// newest to oldest while <c>system + kept + turn</c> is strictly below <paramref name="maxWindowSize"/> tokens;
    /// the first turn that does not fit drops it and every older turn. The query itself is never counted or cut.
    /// </summary>
    public ChatMlPrompt Build(string query, IReadOnlyList<ChatTurn>? history = null, string? system = null, int maxWindowSize = DefaultMaxWindowSize)
    {
        ArgumentNullException.ThrowIfNull(query);
        history ??= [];
        var systemTokens = new List<int>();
        var rawSystem = AppendBlock(systemTokens, "system", system ?? DefaultSystem);

        var kept = new List<int>();
        var keptText = new List<string>();
        int keptTurns = 0;
        for (int i = history.Count - 1; i >= 0; i--)
        {
            var turn = new List<int>();
            var text = new StringBuilder();
            AppendTurn(turn, text, history[i]);
            if (systemTokens.Count + turn.Count + kept.Count < maxWindowSize)
            {
                kept.InsertRange(0, turn);
                keptText.Insert(0, text.ToString());
                keptTurns++;
            }
            else
            {
                break;
            }
        }

        var tokens = new List<int>(systemTokens.Count + kept.Count + 16);
        tokens.AddRange(systemTokens);
        tokens.AddRange(kept);
        var raw = new StringBuilder(rawSystem);
        foreach (var t in keptText) raw.Append(t);
        tokens.AddRange(Nl);
        raw.Append('\n');
        raw.Append(AppendBlock(tokens, "user", query));
        tokens.AddRange(Nl);
        tokens.Add(QwenTokenizer.ImStartId);
        _tokenizer.EncodeTo("assistant", tokens);
        tokens.AddRange(Nl);
        raw.Append('\n').Append(QwenTokenizer.ImStart).Append("assistant\n");
        return new ChatMlPrompt(tokens, raw.ToString(), keptTurns);
    }

    /// <summary>
    /// A text-completion prompt: every turn is rendered (no window), and the last turn's assistant text is left open
    /// (no final <c>&lt;|im_end|&gt;</c>) so the model continues it — the reference <c>text_complete_last_message</c>
    /// and react_demo.py shape. Contents are used as given (callers strip them as the reference does).
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="turns"/> is empty.</exception>
    public ChatMlPrompt BuildCompletion(IReadOnlyList<ChatTurn> turns, string? system = null)
    {
        ArgumentNullException.ThrowIfNull(turns);
        if (turns.Count == 0) throw new ArgumentException("a completion prompt needs at least one turn (the one to continue).", nameof(turns));
        var tokens = new List<int>();
        var raw = new StringBuilder(AppendBlock(tokens, "system", system ?? DefaultSystem));
        for (int i = 0; i < turns.Count; i++)
        {
            AppendTurn(tokens, raw, turns[i]);
        }
        // Drop the final <|im_end|>: the assistant turn stays open.
        tokens.RemoveAt(tokens.Count - 1);
        raw.Length -= QwenTokenizer.ImEnd.Length;
        return new ChatMlPrompt(tokens, raw.ToString(), turns.Count);
    }

    /// <summary>The base model's raw format: the query's ids only (history is ignored by the reference).</summary>
    public ChatMlPrompt BuildRaw(string query)
    {
        ArgumentNullException.ThrowIfNull(query);
        return new ChatMlPrompt(_tokenizer.Encode(query), query, 0);
    }

    // "\n<|im_start|>user\n{q}<|im_end|>\n<|im_start|>assistant\n{r}<|im_end|>"
    private void AppendTurn(List<int> tokens, StringBuilder raw, ChatTurn turn)
    {
        tokens.AddRange(Nl);
        raw.Append('\n').Append(AppendBlock(tokens, "user", turn.User));
        tokens.AddRange(Nl);
        raw.Append('\n').Append(AppendBlock(tokens, "assistant", turn.Assistant));
    }

    // "<|im_start|>{role}\n{content}<|im_end|>" as [IS] + encode(role) + NL + encode(content) + [IE].
    private string AppendBlock(List<int> tokens, string role, string content)
    {
        tokens.Add(QwenTokenizer.ImStartId);
        _tokenizer.EncodeTo(role, tokens);
        tokens.AddRange(Nl);
        _tokenizer.EncodeTo(content, tokens);
        tokens.Add(QwenTokenizer.ImEndId);
        return $"{QwenTokenizer.ImStart}{role}\n{content}{QwenTokenizer.ImEnd}";
    }
}
