using System.Diagnostics;
using System.Threading.Channels;
using Qwen.Inference.Constraints;
using Qwen.Inference.Generation;
using Qwen.Inference.Runtime;
using Qwen.Inference.Sampling;
using Qwen.Inference.Tokenization;

namespace Qwen.Inference.Scheduling;

/// <summary>Per-request state the loop keeps beside the scheduler's sequence: sampler, grammar cursor, stop rules, text decoder and the caller's channel.</summary>
/// <remarks>
/// With a constraint (<see cref="GenerationRequest.Constraint"/>) the grammar decides where the output ends: stop strings
/// and stop ids that are regular tokens are ignored (a stop string inside a JSON string must not cut the value), the
/// special stop tokens are allowed only once the grammar is complete, and the request finishes with <c>stop</c> as soon
/// as the grammar is complete and nothing can follow.
/// </remarks>
internal sealed class SchedulerRequest
{
    private readonly HashSet<int> _stopIds;
    private readonly QwenStreamDecoder _decoder;
    private readonly StopStringMatcher _stops;
    private int _completion;

    /// <summary>Creates the state of one request; <c>constraint</c> is the grammar position to continue from (a clone when forking a choice), null to start the request's own constraint, if any.</summary>
    public SchedulerRequest(ScheduledSequence sequence, GenerationRequest request, RotaryEmbedding rotary, Sampler sampler, QwenStreamDecoder decoder, IEnumerable<int> stopIds, ConstraintCursor? constraint = null)
    {
        Sequence = sequence;
        Rotary = rotary;
        Sampler = sampler;
        _decoder = decoder;
        var alwaysStop = stopIds.ToArray();
        Constraint = constraint ?? request.Constraint?.Start(alwaysStop);
        _stops = new StopStringMatcher(Constraint is null ? request.StopStrings : []);
        _stopIds = Constraint is null ? [.. alwaysStop, .. request.StopTokenIds] : [.. alwaysStop];
        Admitted = Stopwatch.GetTimestamp();
    }

    public ScheduledSequence Sequence { get; }
    public RotaryEmbedding Rotary { get; }
    public Sampler Sampler { get; }

    /// <summary>Where the output stands in its grammar (null: free text); <see cref="ConstraintCursor.Clone"/> forks it.</summary>
    public ConstraintCursor? Constraint { get; }
    public long Admitted { get; }
    public TimeSpan TimeToFirstToken { get; private set; }

    /// <summary>Updates for the caller; unbounded because the loop must never wait on a slow reader.</summary>
    public Channel<GenerationUpdate> Updates { get; } = Channel.CreateUnbounded<GenerationUpdate>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });

    /// <summary>Set by the caller's side when it stops reading; the loop releases the row at its next step.</summary>
    public volatile bool Abandoned;

    /// <summary>Samples from <paramref name="logits"/>, appends the token, emits the update; true when the request is finished.</summary>
    /// <remarks>Per token, as the single-request generator does: mask → sample → stop id → grammar → decode text → stop strings → grammar end → budget.</remarks>
    public bool Accept(Span<float> logits, EngineMetrics metrics)
    {
        var token = Sampler.Sample(logits, Constraint);
        Sequence.Append(token.Id);
        metrics.TokensGenerated(1);
        if (_completion++ == 0)
        {
            TimeToFirstToken = Stopwatch.GetElapsedTime(Admitted);
            metrics.FirstToken(TimeToFirstToken);
        }
        if (_stopIds.Contains(token.Id))
        {
            Finish(new GenerationUpdate(_stops.Append(_decoder.Flush()) + _stops.Flush(), [], FinishReason.Stop, Usage()));
            return true;
        }
        Constraint?.Advance(token.Id);
        var text = _stops.Append(_decoder.Append(token.Id));
        if (_stops.Stopped)
        {
            Finish(new GenerationUpdate(text, [token], FinishReason.Stop, Usage()));
            return true;
        }
        if (Constraint is { IsEnded: true })
        {
            // The value is complete and nothing can follow: stop without sampling an end token.
            Finish(new GenerationUpdate(text + _decoder.Flush(), [token], FinishReason.Stop, Usage()));
            return true;
        }
        if (_completion >= Sequence.MaxNewTokens)
        {
            text += _stops.Append(_decoder.Flush());
            text += _stops.Flush();
            Finish(new GenerationUpdate(text, [token], _stops.Stopped ? FinishReason.Stop : FinishReason.Length, Usage()));
            return true;
        }
        Updates.Writer.TryWrite(new GenerationUpdate(text, [token]));
        return false;
    }

    /// <summary>Ends the caller's stream with an error.</summary>
    public void Fail(Exception error) => Updates.Writer.TryComplete(error);

    private GenerationUsage Usage() => new(Sequence.PromptLength, _completion, Sequence.CachedPromptTokens, TimeToFirstToken);

    private void Finish(GenerationUpdate last)
    {
        Updates.Writer.TryWrite(last);
        Updates.Writer.TryComplete();
    }
}
