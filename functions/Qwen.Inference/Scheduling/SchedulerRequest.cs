using System.Diagnostics;
using System.Threading.Channels;
using Qwen.Inference.Generation;
using Qwen.Inference.Runtime;
using Qwen.Inference.Sampling;
using Qwen.Inference.Tokenization;

namespace Qwen.Inference.Scheduling;

/// <summary>Per-request state the loop keeps beside the scheduler's sequence: sampler, stop rules, text decoder and the caller's channel.</summary>
internal sealed class SchedulerRequest
{
    private readonly HashSet<int> _stopIds;
    private readonly QwenStreamDecoder _decoder;
    private readonly StopStringMatcher _stops;
    private int _completion;

    public SchedulerRequest(ScheduledSequence sequence, GenerationRequest request, RotaryEmbedding rotary, Sampler sampler, QwenStreamDecoder decoder, IEnumerable<int> stopIds)
    {
        Sequence = sequence;
        Rotary = rotary;
        Sampler = sampler;
        _decoder = decoder;
        _stops = new StopStringMatcher(request.StopStrings);
        _stopIds = [.. stopIds, .. request.StopTokenIds];
        Admitted = Stopwatch.GetTimestamp();
    }

    public ScheduledSequence Sequence { get; }
    public RotaryEmbedding Rotary { get; }
    public Sampler Sampler { get; }
    public long Admitted { get; }
    public TimeSpan TimeToFirstToken { get; private set; }

    /// <summary>Updates for the caller; unbounded because the loop must never wait on a slow reader.</summary>
    public Channel<GenerationUpdate> Updates { get; } = Channel.CreateUnbounded<GenerationUpdate>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });

    /// <summary>Set by the caller's side when it stops reading; the loop releases the row at its next step.</summary>
    public volatile bool Abandoned;

    /// <summary>Samples from <paramref name="logits"/>, appends the token, emits the update; true when the request is finished.</summary>
    /// <remarks>Per token, as the single-request generator does: sample → stop id → decode text → stop strings → budget.</remarks>
    public bool Accept(Span<float> logits, EngineMetrics metrics)
    {
        var token = Sampler.Sample(logits);
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
        var text = _stops.Append(_decoder.Append(token.Id));
        if (_stops.Stopped)
        {
            Finish(new GenerationUpdate(text, [token], FinishReason.Stop, Usage()));
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
