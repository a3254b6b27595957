using System.Runtime.CompilerServices;
using System.Threading.Channels;

namespace Qwen.Inference.Generation;

/// <summary>Merges the streams of the choices of one request into one stream of <see cref="ChoiceUpdate"/>s, in the order updates arrive.</summary>
/// <remarks>Used by <see cref="IGenerationEngine"/>'s default (independent requests) and by the scheduler (choices admitted as one group).</remarks>
internal static class ChoiceStreams
{
    /// <summary>Reads every stream concurrently; the first failure (other than a cancellation) ends the merged stream with that error and cancels the rest.</summary>
    /// <remarks>Leaving the merged stream early cancels every choice (each stream's own cleanup frees its row).</remarks>
    public static async IAsyncEnumerable<ChoiceUpdate> MergeAsync(IReadOnlyList<IAsyncEnumerable<GenerationUpdate>> streams, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        using var siblings = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var merged = Channel.CreateUnbounded<ChoiceUpdate>(new UnboundedChannelOptions { SingleReader = true });
        var pumps = streams.Select(async (stream, index) =>
        {
            try
            {
                await foreach (var update in stream.WithCancellation(siblings.Token).ConfigureAwait(false))
                {
                    merged.Writer.TryWrite(new ChoiceUpdate(index, update));
                }
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !siblings.IsCancellationRequested)
            {
                // Fail the stream and stop the siblings now, not when they would have finished: nobody gets their answer.
                merged.Writer.TryComplete(ex);
                await siblings.CancelAsync().ConfigureAwait(false);
                throw;
            }
        }).ToArray();
        // A failed pump has already completed the channel with its error and cancelled the others; this ends it otherwise.
        var all = Task.WhenAll(pumps).ContinueWith(
            _ => merged.Writer.TryComplete(),
            CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        try
        {
            await foreach (var update in merged.Reader.ReadAllAsync(cancellationToken).ConfigureAwait(false))
            {
                yield return update;
            }
        }
        finally
        {
            await siblings.CancelAsync().ConfigureAwait(false);
            await all.ConfigureAwait(false);
        }
    }
}
