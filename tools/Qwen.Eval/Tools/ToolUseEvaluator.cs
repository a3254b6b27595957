using Qwen.Inference.Tokenization;

namespace Qwen.Eval.Tools;

/// <summary>Runs every job through a chat function and scores the responses as the seed's evaluate_plugin.py does (spec §7).</summary>
public static class ToolUseEvaluator
{
    /// <summary>Scores one response against its job.</summary>
    public static ToolUseOutcome Score(QwenTokenizer tokenizer, ToolUseJob job, string id, string response)
    {
        var called = ReActResponse.CallsTool(response);
        if (!job.IsPositive)
        {
            return new ToolUseOutcome(id, job.Language, false, called, false, 0, response);
        }
        var predicted = ReActResponse.Parse(response);
        var golden = ReActResponse.Parse(job.Response!);
        // A call ("\nAction: ") whose action equals the golden one, compared case-insensitively after strip.
        var selected = called &&
            string.Equals(predicted.Action.Trim(), golden.Action.Trim(), StringComparison.OrdinalIgnoreCase);
        var rouge = RougeL.Score(tokenizer, predicted.ActionInput, golden.ActionInput);
        return new ToolUseOutcome(id, job.Language, true, called, selected, rouge, response);
    }

    /// <summary>
    /// Sends each job's prompt as the user message through <paramref name="chat"/> (greedy, one at a time) and computes the metrics.
    /// </summary>
    public static async Task<ToolUseMetrics> RunAsync(QwenTokenizer tokenizer, IReadOnlyList<ToolUseJob> jobs,
        Func<string, CancellationToken, Task<string>> chat, Action? progress = null, CancellationToken cancellationToken = default)
    {
        var outcomes = new List<ToolUseOutcome>(jobs.Count);
        for (var i = 0; i < jobs.Count; i++)
        {
            var response = await chat(jobs[i].Prompt, cancellationToken).ConfigureAwait(false);
            outcomes.Add(Score(tokenizer, jobs[i], jobs[i].Id ?? (i + 1).ToString(System.Globalization.CultureInfo.InvariantCulture), response));
            progress?.Invoke();
        }
        return ToolUseMetrics.From(outcomes);
    }
}
