using System.Diagnostics;
using System.Text;
using Qwen.Inference.Generation;

namespace Qwen.Serving.Http;

/// <summary>The choices of one request while they stream: their interleaved updates in arrival order, and each choice's collected result once it ends.</summary>
/// <remarks>One reader at a time (the handler serving the request). Disposing stops the choices still running.</remarks>
public sealed class ChoiceRun : IAsyncDisposable
{
    private readonly ChoiceGenerator _generator;
    private readonly GenerationRequest[] _requests;
    private readonly IAsyncEnumerator<ChoiceUpdate> _updates;
    private readonly StringBuilder[] _text;
    private readonly List<GeneratedToken>[] _tokens;
    private readonly GenerationResult?[] _results;
    private readonly Stopwatch _stopwatch = Stopwatch.StartNew();
    private bool _has;
    private int _running;

    internal ChoiceRun(ChoiceGenerator generator, GenerationRequest[] requests, IAsyncEnumerator<ChoiceUpdate> updates)
    {
        _generator = generator;
        _requests = requests;
        _updates = updates;
        _text = requests.Select(_ => new StringBuilder()).ToArray();
        _tokens = requests.Select(_ => new List<GeneratedToken>()).ToArray();
        _results = new GenerationResult?[requests.Length];
        _running = requests.Length;
        generator.Metrics.InFlight(requests.Length);
    }

    /// <summary>Number of choices.</summary>
    public int Count => _requests.Length;

    /// <summary>The text choice <paramref name="index"/> has produced so far.</summary>
    public string Text(int index) => _text[index].ToString();

    /// <summary>Every update in arrival order; a choice's final update comes after its result is recorded (<see cref="Result"/>).</summary>
    public async IAsyncEnumerable<ChoiceUpdate> ReadAllAsync()
    {
        while (_has)
        {
            var update = _updates.Current;
            Record(update);
            yield return update;
            _has = await _updates.MoveNextAsync().ConfigureAwait(false);
        }
    }

    /// <summary>The result of a choice that has ended, else null.</summary>
    public GenerationResult? Result(int index) => _results[index];

    /// <summary>Every choice's result once the stream is read (a choice whose stream ended without a final update counts as stopped).</summary>
    public GenerationResult[] Results()
    {
        for (var i = 0; i < _results.Length; i++)
        {
            _results[i] ??= Complete(i, FinishReason.Stop, null);
        }
        return _results!;
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await _updates.DisposeAsync().ConfigureAwait(false);
        if (_running > 0)
        {
            _generator.Metrics.InFlight(-_running);
            _running = 0;
        }
    }

    internal async Task FirstAsync() => _has = await _updates.MoveNextAsync().ConfigureAwait(false);

    private void Record(ChoiceUpdate update)
    {
        var (index, u) = update;
        _text[index].Append(u.TextDelta);
        _tokens[index].AddRange(u.Tokens);
        if (u.FinishReason is { } finish && _results[index] is null)
        {
            _results[index] = Complete(index, finish, u.Usage);
        }
    }

    private GenerationResult Complete(int index, FinishReason finish, GenerationUsage? usage)
    {
        if (_running > 0)
        {
            _running--;
            _generator.Metrics.InFlight(-1);
        }
        return _generator.Finish(_text[index].ToString(), _tokens[index], finish, usage, _requests[index], _stopwatch);
    }
}
