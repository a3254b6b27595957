using System.Diagnostics;
using System.Runtime.CompilerServices;
using Qwen.Inference.Generation;
using Qwen.Inference.Packaging;
using Qwen.Inference.Runtime;
using Qwen.Inference.Sampling;
using Qwen.Inference.Scoring;
using Qwen.Inference.Tokenization;

namespace Qwen.Inference.Scheduling;

/// <summary>The batching engine: continuous batching of concurrent requests over one KV buffer, with prefix reuse across turns.</summary>
/// <remarks>
/// Requests join and leave between steps. One loop thread asks <see cref="BatchScheduler"/> for a <see cref="StepPlan"/>,
/// has the <see cref="IBatchRunner"/> execute it, then samples each row with that request's own sampler and stop rules.
/// Each request keeps its own NTK α (from its prompt length) and LogN follows each row's absolute positions.
/// The choices of one prompt (<see cref="GenerateChoicesAsync"/>, OpenAI <c>n</c>) share one prefill: the other rows get
/// a copy of its KV (<see cref="IBatchRunner.CopyRow"/>) and sample from the same logits with their own samplers.
/// Thread-safe: <see cref="GenerateAsync"/> may be called from any thread.
/// </remarks>
public sealed class QwenScheduler : IGenerationEngine, IPromptScorer
{
    private readonly IBatchRunner _runner;
    private readonly BatchScheduler _scheduler;
    private readonly SchedulerOptions _options;
    private readonly Lock _gate = new();
    private readonly Dictionary<long, SchedulerRequest> _requests = [];
    private readonly SemaphoreSlim _wake = new(0);
    private readonly CancellationTokenSource _stopping = new();
    private readonly Task _loop;
    private readonly int _vocabularySize;
    private readonly IReadOnlyList<int> _alwaysStop;
    private readonly PromptScorer? _scorer;
    private readonly float[] _forkLogits;
    private long _nextId;
    private int _disposed;

    /// <summary>Creates the engine over a loaded package: allocates the KV buffer and starts the loop.</summary>
    /// <exception cref="QwenEngineException">The graph does not load or does not match the manifest.</exception>
    public QwenScheduler(ModelPackage package, QwenTokenizer tokenizer, QwenSchedulerOptions? options = null, EngineMetrics? metrics = null)
        : this(package, tokenizer, options ??= new QwenSchedulerOptions(), KvCachePlan.Create(package.Manifest, options), metrics)
    {
    }

    private QwenScheduler(ModelPackage package, QwenTokenizer tokenizer, QwenSchedulerOptions options, KvCachePlan plan, EngineMetrics? metrics)
        : this(package.Manifest, tokenizer, new OnnxBatchRunner(package, options.Runtime, plan.Rows, plan.Positions), options.Scheduling, metrics)
    {
        KvCache = plan;
        Device = options.Runtime.ExecutionProvider;
    }

    /// <summary>Creates the engine over any runner (tests use a scripted one).</summary>
    public QwenScheduler(ModelManifest manifest, QwenTokenizer tokenizer, IBatchRunner runner, SchedulerOptions options, EngineMetrics? metrics = null)
    {
        options.Validate();
        Manifest = manifest;
        Tokenizer = tokenizer;
        _runner = runner;
        _options = options;
        Metrics = metrics ?? new EngineMetrics();
        _scheduler = new BatchScheduler(options with { MaxBatchSize = runner.MaxBatchSize }, runner.MaxSequenceLength, runner.CanCopyRows);
        var tokenizerInfo = manifest.Tokenizer;
        _vocabularySize = Math.Min(tokenizerInfo.SpecialStartId + tokenizerInfo.SpecialCount, manifest.Architecture.VocabSize);
        _alwaysStop = GenerationRequestChecks.AlwaysStopIds(manifest);
        _forkLogits = new float[runner.VocabRows];
        _scorer = runner is OnnxBatchRunner onnx ? new PromptScorer(manifest, onnx.Session, onnx.KvAllocator, runner.MaxSequenceLength) : null;
        _loop = Task.Factory.StartNew(Loop, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
    }

    /// <summary>Opens, verifies and loads the package in <paramref name="packageDirectory"/> with its tokenizer.</summary>
    /// <exception cref="QwenEngineException">The package is incomplete or damaged, or the runtime cannot load it.</exception>
    public static QwenScheduler Load(string packageDirectory, QwenSchedulerOptions? options = null, EngineMetrics? metrics = null)
    {
        options ??= new QwenSchedulerOptions();
        var package = ModelPackage.Open(packageDirectory, options.Runtime.Verification).WithLongContext(options.Runtime);
        var tokenizer = QwenTokenizer.Load(package.TokenizerPath);
        return new QwenScheduler(package, tokenizer, options, metrics);
    }

    /// <inheritdoc />
    public ModelManifest Manifest { get; }

    /// <inheritdoc />
    public QwenTokenizer Tokenizer { get; }

    /// <summary>Counters of this engine.</summary>
    public EngineMetrics Metrics { get; }

    /// <summary>Longest sequence (prompt + output) a row holds: the context this engine serves.</summary>
    public int ContextLength => _runner.MaxSequenceLength;

    /// <summary>How the KV budget was spent (null when the engine runs over a runner it was given).</summary>
    public KvCachePlan? KvCache { get; }

    /// <summary>The execution provider that holds the KV cache and runs the graph.</summary>
    public ExecutionProvider Device { get; } = ExecutionProvider.Cpu;

    /// <summary>Batch rows.</summary>
    public int MaxBatchSize => _runner.MaxBatchSize;

    /// <summary>Tokens cached in a row (diagnostics and tests).</summary>
    public IReadOnlyList<int> CachedTokens(int slot)
    {
        lock (_gate)
        {
            return [.. _scheduler.CachedTokens(slot)];
        }
    }

    /// <inheritdoc />
    /// <remarks>Arguments, the context limit and admission are checked when this is called, before any compute.</remarks>
    public IAsyncEnumerable<GenerationUpdate> GenerateAsync(GenerationRequest request, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        GenerationRequestChecks.Validate(request, Manifest.Architecture.VocabSize, ContextLength);
        cancellationToken.ThrowIfCancellationRequested();
        var state = CreateState(request);
        Admit([state]);
        return ReadAsync(state, cancellationToken);
    }

    /// <inheritdoc />
    /// <remarks>
    /// Choices with the same prompt are admitted as one group when as many rows are free (until then the group waits):
    /// the first prefills the prompt once, the others copy its KV into their rows and sample from the same logits with
    /// their own samplers (seeds) and constraints, then all decode in the same batch. Checked when called, before any compute.
    /// </remarks>
    /// <exception cref="ChoiceCountExceededException">More choices than the engine has rows.</exception>
    /// <exception cref="EngineBusyException">The admission queue is full.</exception>
    public IAsyncEnumerable<ChoiceUpdate> GenerateChoicesAsync(IReadOnlyList<GenerationRequest> choices, CancellationToken cancellationToken = default) =>
        ChoiceStreams.MergeAsync(StartChoices(choices, cancellationToken), cancellationToken);

    /// <summary>Admits the choices of one prompt together and returns one stream per choice, each cancellable on its own.</summary>
    /// <remarks>
    /// What <see cref="GenerateChoicesAsync"/> merges. A caller that stops reading one stream (or cancels its enumeration)
    /// ends that choice only: its row is freed at the next step and the other choices keep decoding.
    /// </remarks>
    /// <exception cref="ArgumentException">No choices, or choices with different prompts.</exception>
    /// <exception cref="ChoiceCountExceededException">More choices than the engine has rows.</exception>
    /// <exception cref="EngineBusyException">The admission queue is full.</exception>
    public IReadOnlyList<IAsyncEnumerable<GenerationUpdate>> StartChoices(IReadOnlyList<GenerationRequest> choices, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        ArgumentNullException.ThrowIfNull(choices);
        if (choices.Count == 0)
        {
            throw new ArgumentException("A multi-choice request needs at least one choice.", nameof(choices));
        }
        foreach (var choice in choices)
        {
            GenerationRequestChecks.Validate(choice, Manifest.Architecture.VocabSize, ContextLength);
        }
        cancellationToken.ThrowIfCancellationRequested();
        var prompt = choices[0].PromptTokens;
        for (var i = 1; i < choices.Count; i++)
        {
            if (!choices[i].PromptTokens.SequenceEqual(prompt))
            {
                throw new ArgumentException($"Choice {i} has another prompt than choice 0; the choices of one request share the prompt and differ only in sampling.", nameof(choices));
            }
        }
        if (choices.Count == 1)
        {
            return [GenerateAsync(choices[0], cancellationToken)];
        }
        if (choices.Count > _runner.MaxBatchSize)
        {
            throw new ChoiceCountExceededException(choices.Count, _runner.MaxBatchSize);
        }
        var states = choices.Select(CreateState).ToArray();
        Admit(states);
        return [.. states.Select(s => ReadAsync(s, cancellationToken))];
    }

    /// <summary>Queues one request, or the choices of one prompt as a group, and wakes the loop.</summary>
    /// <exception cref="EngineBusyException">The admission queue is full.</exception>
    private void Admit(IReadOnlyList<SchedulerRequest> states)
    {
        lock (_gate)
        {
            var queued = states.Count == 1
                ? _scheduler.TryEnqueue(states[0].Sequence)
                : _scheduler.TryEnqueueGroup([.. states.Select(s => s.Sequence)]);
            if (!queued)
            {
                Metrics.RequestRejected();
                throw new EngineBusyException(_scheduler.QueueDepth, _options.MaxQueueLength, _options.RetryAfter);
            }
            foreach (var state in states)
            {
                _requests.Add(state.Sequence.Id, state);
                Metrics.RequestAdmitted(state.Sequence.PromptLength);
            }
            Metrics.SetOccupancy(_scheduler.QueueDepth, _scheduler.RunningCount);
        }
        _wake.Release();
    }

    private SchedulerRequest CreateState(GenerationRequest request)
    {
        var arch = Manifest.Architecture;
        var prompt = request.PromptTokens.ToArray();
        var alpha = LongContext.RequestAlpha(arch, prompt.Length);
        var maxNew = Math.Min(request.MaxNewTokens ?? Manifest.Generation.MaxNewTokens, ContextLength - prompt.Length);
        var sequence = new ScheduledSequence(Interlocked.Increment(ref _nextId), prompt, alpha, maxNew) { CacheScope = request.CacheScope };
        return new SchedulerRequest(
            sequence,
            request,
            new RotaryEmbedding(arch.HeadDim, arch.RotaryBase, alpha),
            new Sampler(request.Sampling, prompt, _vocabularySize, request.Logprobs, request.TopLogprobs),
            Tokenizer.CreateStreamDecoder(),
            _alwaysStop);
    }

    /// <inheritdoc />
    /// <remarks>Runs beside the loop on the same session with its own KV cache; the batch rows are not touched.</remarks>
    /// <exception cref="NotSupportedException">The engine runs on a runner without an ONNX session (tests).</exception>
    public Task<IReadOnlyList<PromptTokenScore>> ScorePromptAsync(IReadOnlyList<int> tokens, int topLogprobs, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        return _scorer is { } scorer
            ? scorer.ScoreAsync(tokens, topLogprobs, cancellationToken)
            : throw new NotSupportedException("This engine's runner has no ONNX session to score prompts with.");
    }

    private async IAsyncEnumerable<GenerationUpdate> ReadAsync(SchedulerRequest state, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        try
        {
            while (await state.Updates.Reader.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
            {
                while (state.Updates.Reader.TryRead(out var update))
                {
                    yield return update;
                    cancellationToken.ThrowIfCancellationRequested();
                }
            }
        }
        finally
        {
            if (!state.Updates.Reader.Completion.IsCompleted)
            {
                // The caller cancelled or stopped reading: free the row at the next step.
                state.Abandoned = true;
                Metrics.RequestCancelled();
                _wake.Release();
            }
        }
    }

    private void Loop()
    {
        var token = _stopping.Token;
        var logits = new float[_runner.MaxBatchSize * _runner.VocabRows];
        while (!token.IsCancellationRequested)
        {
            StepPlan plan;
            lock (_gate)
            {
                foreach (var state in _requests.Values)
                {
                    if (state.Abandoned)
                    {
                        _scheduler.Release(state.Sequence);
                    }
                }
                plan = _scheduler.Schedule();
                foreach (var id in plan.Released)
                {
                    _requests.Remove(id);
                }
                RemoveAbandonedWaiting();
                Metrics.SetOccupancy(_scheduler.QueueDepth, _scheduler.RunningCount);
            }
            if (plan.IsEmpty)
            {
                if (plan.Released.Count == 0)
                {
                    try
                    {
                        _wake.Wait(token);
                    }
                    catch (OperationCanceledException)
                    {
                        break;
                    }
                }
                continue;
            }
            Step(plan, logits);
        }
        lock (_gate)
        {
            foreach (var state in _requests.Values)
            {
                state.Fail(new ObjectDisposedException(nameof(QwenScheduler), "The engine was disposed while the request was running."));
            }
            _requests.Clear();
        }
    }

    private void RemoveAbandonedWaiting()
    {
        List<long>? gone = null;
        foreach (var (id, state) in _requests)
        {
            if (state.Sequence.Status == SequenceStatus.Released)
            {
                (gone ??= []).Add(id);
            }
        }
        foreach (var id in gone ?? [])
        {
            _requests.Remove(id);
        }
    }

    private void Step(StepPlan plan, float[] logits)
    {
        var vocab = _runner.VocabRows;
        foreach (var work in plan.Prefills)
        {
            var state = Lookup(work.SequenceId);
            var row = logits.AsSpan(0, vocab);
            var started = Stopwatch.GetTimestamp();
            try
            {
                _runner.Prefill(work, state.Sequence.Tokens, state.Rotary, row, _stopping.Token);
            }
            catch (Exception error)
            {
                Fail(state, error);
                foreach (var fork in work.Forks)
                {
                    Fail(Lookup(fork.SequenceId), error);
                }
                continue;
            }
            Metrics.PrefillStep(work.TokenCount, Stopwatch.GetElapsedTime(started));
            if (work.StartPosition > 0)
            {
                Metrics.PromptCacheHit(work.StartPosition);
            }
            lock (_gate)
            {
                _scheduler.CompletePrefill(state.Sequence);
            }
            var forks = Fork(work, state, row);
            Accept(state, row);
            foreach (var fork in forks)
            {
                // Each choice samples the same last-position logits with its own sampler; sampling overwrites them.
                _forkLogits.AsSpan(0, vocab).CopyTo(row);
                Accept(fork, row);
            }
        }

        if (plan.Decode is not { } decode)
        {
            return;
        }
        var count = decode.Active.Count;
        var tokens = new int[count];
        var rotaries = new RotaryEmbedding[count];
        var states = new SchedulerRequest[count];
        for (var i = 0; i < count; i++)
        {
            states[i] = Lookup(decode.Active[i].SequenceId);
            tokens[i] = states[i].Sequence.Tokens[^1];
            rotaries[i] = states[i].Rotary;
        }
        var begun = Stopwatch.GetTimestamp();
        try
        {
            _runner.Decode(decode, tokens, rotaries, logits.AsSpan(0, count * vocab));
        }
        catch (Exception error)
        {
            foreach (var state in states)
            {
                Fail(state, error);
            }
            return;
        }
        Metrics.DecodeStep(count, Stopwatch.GetElapsedTime(begun));
        lock (_gate)
        {
            foreach (var state in states)
            {
                _scheduler.CompleteDecode(state.Sequence);
            }
        }
        for (var i = 0; i < count; i++)
        {
            Accept(states[i], logits.AsSpan(i * vocab, vocab));
        }
    }

    /// <summary>Copies the prompt's KV from the prefilled row into each fork's row and keeps the logits for them; returns the forks that joined.</summary>
    private IReadOnlyList<SchedulerRequest> Fork(PrefillWork work, SchedulerRequest source, Span<float> logits)
    {
        if (work.Forks.Count == 0)
        {
            return [];
        }
        var joined = new List<SchedulerRequest>(work.Forks.Count);
        logits.CopyTo(_forkLogits);
        var positions = source.Sequence.PromptLength;
        foreach (var fork in work.Forks)
        {
            var state = Lookup(fork.SequenceId);
            try
            {
                _runner.CopyRow(work.Slot, fork.Slot, positions);
            }
            catch (Exception error)
            {
                Fail(state, error);
                continue;
            }
            Metrics.RowForked(positions);
            lock (_gate)
            {
                _scheduler.CompletePrefill(state.Sequence);
            }
            joined.Add(state);
        }
        return joined;
    }

    private SchedulerRequest Lookup(long id)
    {
        lock (_gate)
        {
            return _requests[id];
        }
    }

    private void Accept(SchedulerRequest state, Span<float> logits)
    {
        if (state.Abandoned)
        {
            return; // released at the next step; its stream is closed already
        }
        bool finished;
        try
        {
            finished = state.Accept(logits, Metrics);
        }
        catch (Exception error)
        {
            Fail(state, error);
            return;
        }
        if (finished)
        {
            lock (_gate)
            {
                _scheduler.Release(state.Sequence);
            }
        }
    }

    private void Fail(SchedulerRequest state, Exception error)
    {
        state.Fail(error);
        lock (_gate)
        {
            _scheduler.Release(state.Sequence);
        }
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }
        _stopping.Cancel();
        await _loop.ConfigureAwait(false);
        _runner.Dispose();
        _stopping.Dispose();
        _wake.Dispose();
    }
}
