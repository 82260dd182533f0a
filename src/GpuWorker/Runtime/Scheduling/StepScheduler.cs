using System.Diagnostics;
using StarKv.GpuWorker.Model;
using StarKv.GpuWorker.Model.Batching;
using TorchSharp;

namespace StarKv.GpuWorker.Runtime.Scheduling;

/// <summary>
/// Continuous batching of one runtime's steps (iteration-level scheduling): a thread runs iterations while steps are
/// in flight. Each iteration, under the runtime's execution gate,
/// <list type="number">
/// <item>drops the steps whose token was cancelled (their sessions roll back; the others carry on);</item>
/// <item>admits waiting steps in arrival order while the batch has room (<see cref="StepSchedulerOptions.MaxBatchSize"/>
/// steps decoding or prefilling) and the token budget has tokens left, and begins their prefills (vision encoding, the
/// turn's embeddings);</item>
/// <item>runs one batched forward pass (<see cref="Qwen25VlModel.ForwardBatch"/>) over the next token of every decoding
/// step (rows of different sessions, lengths, methods and budgets; each appends to its own cache) and chunks of the
/// prefilling steps' turns, in arrival order, as many tokens as <see cref="StepSchedulerOptions.MaxTokensPerIteration"/>
/// leaves after the decode rows: a long prefill is split across iterations, so it delays the others' next token by
/// one chunk, not by the whole turn. Each layer of a step's cache is compressed with the session's own compressor right
/// after that layer's attention of the step's last chunk; the step decodes from the next iteration on.</item>
/// </list>
/// A step whose own work throws (a compressor, a bad input, a cancelled token between layers) fails alone; its caller
/// rolls its session back. A failure of the batched forward pass itself fails every step in that pass.
/// </summary>
public sealed class StepScheduler : IDisposable
{
    private readonly Qwen25VlModel _model;
    private readonly Lock _gate;
    private readonly IBatchedAttention _attention;
    private readonly object _sync = new();
    private readonly Queue<Entry> _waiting = new();
    private readonly List<Entry> _prefilling = [];
    private readonly List<Entry> _decoding = [];
    private Thread? _thread;
    private bool _stopping;
    private long _iterations;
    private long _decodedRows;
    private long _prefillChunks;
    private long _mixedIterations;
    private long _passTicks;
    private long _beginTicks;
    private int _largestBatch;

    internal StepScheduler(Qwen25VlModel model, Lock gate, StepSchedulerOptions options, IBatchedAttention? attention = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _model = model;
        _gate = gate;
        Options = options;
        _attention = attention ?? PerSessionAttention.Instance;
    }

    public StepSchedulerOptions Options { get; }

    /// <summary>Iterations run so far.</summary>
    public long Iterations => Interlocked.Read(ref _iterations);

    /// <summary>Decode rows run so far, over all iterations (their mean batch is this over the decoding iterations).</summary>
    public long DecodedRows => Interlocked.Read(ref _decodedRows);

    /// <summary>Prefill chunks run so far (a prefill that fit its iteration's budget is one chunk).</summary>
    public long PrefillChunks => Interlocked.Read(ref _prefillChunks);

    /// <summary>Iterations whose forward pass held both decode rows and prefill chunks.</summary>
    public long MixedIterations => Interlocked.Read(ref _mixedIterations);

    /// <summary>Time spent in forward passes (decode rows, prefill chunks and the compression inside them).</summary>
    public TimeSpan PassTime => TimeSpan.FromTicks(Interlocked.Read(ref _passTicks));

    /// <summary>Time spent beginning prefills (the screenshots' vision encoding, the turns' embeddings).</summary>
    public TimeSpan BeginTime => TimeSpan.FromTicks(Interlocked.Read(ref _beginTicks));

    /// <summary>The most decode rows one forward pass has held.</summary>
    public int LargestBatch => Volatile.Read(ref _largestBatch);

    public void Dispose()
    {
        Thread? thread;
        lock (_sync)
        {
            _stopping = true;
            thread = _thread;
            Monitor.PulseAll(_sync);
        }

        thread?.Join();
    }

    /// <summary>Runs <paramref name="step"/> in the iterations and waits until it decoded, failed or was cancelled.</summary>
    internal void Run(IScheduledStep step)
    {
        ArgumentNullException.ThrowIfNull(step);
        var entry = new Entry(step);
        lock (_sync)
        {
            ObjectDisposedException.ThrowIf(_stopping, this);
            _waiting.Enqueue(entry);
            if (_thread is null)
            {
                _thread = new Thread(Loop) { IsBackground = true, Name = "StarKv step scheduler" };
                _thread.Start();
            }

            Monitor.PulseAll(_sync);
        }

        // A blocking wait on a task: the thread pool sees it and adds threads while many grains' steps wait.
        entry.Completion.Task.GetAwaiter().GetResult();
    }

    private void Loop()
    {
        while (true)
        {
            List<Entry> admitted;
            lock (_sync)
            {
                while (!_stopping && _waiting.Count == 0 && _decoding.Count == 0 && _prefilling.Count == 0)
                {
                    Monitor.Wait(_sync);
                }

                if (_stopping)
                {
                    var stopped = new ObjectDisposedException(nameof(StepScheduler), "The runtime was disposed while the step ran.");
                    FailAll(_decoding, stopped);
                    FailAll(_prefilling, stopped);
                    while (_waiting.TryDequeue(out var waiting))
                    {
                        waiting.Finish(stopped);
                    }

                    return;
                }

                admitted = Admit();
            }

            try
            {
                Iterate(admitted);
            }
            catch (Exception e)
            {
                // Nothing of an iteration may stop the loop with callers waiting: what it held fails, the loop goes on.
                admitted.ForEach(entry => entry.Finish(e));
                FailAll(_decoding, e);
                FailAll(_prefilling, e);
            }
        }
    }

    private static void FailAll(List<Entry> entries, Exception error)
    {
        entries.ForEach(entry => entry.Finish(error));
        entries.Clear();
    }

    /// <summary>Takes waiting steps in arrival order while the batch has room and the token budget has tokens left.</summary>
    private List<Entry> Admit()
    {
        var admitted = new List<Entry>();
        if (_waiting.Any(e => e.Step.CancellationToken.IsCancellationRequested))
        {
            // A step cancelled while it waited for room leaves without running.
            var waiting = _waiting.ToList();
            _waiting.Clear();
            foreach (var entry in waiting)
            {
                if (entry.Step.CancellationToken.IsCancellationRequested)
                {
                    entry.Finish(new OperationCanceledException(entry.Step.CancellationToken));
                }
                else
                {
                    _waiting.Enqueue(entry);
                }
            }
        }

        var left = Options.MaxTokensPerIteration - _decoding.Count - _prefilling.Sum(e => e.Step.PrefillLeft);
        while (_waiting.Count > 0 && _decoding.Count + _prefilling.Count + admitted.Count < Options.MaxBatchSize)
        {
            // With nothing else prefilling, the first waiting step always starts: it advances by at least one token.
            if (left <= 0 && (admitted.Count > 0 || _prefilling.Count > 0))
            {
                break;
            }

            var next = _waiting.Dequeue();
            admitted.Add(next);
            left -= next.Step.PrefillTokens;
        }

        return admitted;
    }

    private void Iterate(List<Entry> admitted)
    {
        Interlocked.Increment(ref _iterations);
        DropCancelled(_decoding);
        DropCancelled(_prefilling);

        using var gate = _gate.EnterScope();
        using var noGrad = torch.no_grad();
        var begin = Stopwatch.StartNew();
        foreach (var entry in admitted)
        {
            try
            {
                entry.Step.CancellationToken.ThrowIfCancellationRequested();
                entry.Step.BeginPrefill();
                _prefilling.Add(entry);
            }
            catch (Exception e)
            {
                entry.Finish(e);
            }
        }

        Interlocked.Add(ref _beginTicks, begin.Elapsed.Ticks);

        // The decode rows take one token each; the prefills share what is left, oldest first, in chunks.
        var budget = Options.MaxTokensPerIteration - _decoding.Count;
        var chunks = new List<PrefillChunk>();
        var chunked = new List<Entry>();
        foreach (var entry in _prefilling.ToArray())
        {
            if (budget <= 0 && chunked.Count > 0)
            {
                break;
            }

            try
            {
                var chunk = entry.Step.NextChunk(Math.Max(1, budget));
                chunks.Add(chunk);
                chunked.Add(entry);
                budget -= chunk.Count;
            }
            catch (Exception e)
            {
                _prefilling.Remove(entry);
                entry.Finish(e);
            }
        }

        if (_decoding.Count > 0 || chunks.Count > 0)
        {
            Forward(chunks, chunked);
        }
    }

    private static void DropCancelled(List<Entry> entries)
    {
        for (var i = entries.Count - 1; i >= 0; i--)
        {
            var entry = entries[i];
            if (entry.Step.CancellationToken.IsCancellationRequested)
            {
                entries.RemoveAt(i);
                entry.Finish(new OperationCanceledException(entry.Step.CancellationToken));
            }
        }
    }

    /// <summary>One forward pass over the decode rows and the prefill chunks, then each step takes its logits.</summary>
    private void Forward(List<PrefillChunk> chunks, List<Entry> chunked)
    {
        var decoding = _decoding.ToArray();
        var rows = decoding.Select(e => e.Step.NextRow).ToArray();
        var watch = Stopwatch.StartNew();
        torch.Tensor logits; // [B + C, vocab]
        try
        {
            if (rows.Length == 1 && chunks.Count == 0)
            {
                // A batch of one is the serial decode, without the batched layer's gathers.
                using var single = _model.DecodeStep(rows[0].TokenId, rows[0].Position, rows[0].Cache); // [vocab]
                logits = single.unsqueeze(0);
            }
            else
            {
                logits = _model.ForwardBatch(rows, chunks, _attention);
            }
        }
        catch (Exception e)
        {
            FailAll(_decoding, e);
            chunked.ForEach(entry => entry.Finish(e));
            _prefilling.RemoveAll(chunked.Contains);
            return;
        }

        var passMs = watch.Elapsed.TotalMilliseconds;
        Interlocked.Add(ref _passTicks, watch.Elapsed.Ticks);
        Interlocked.Add(ref _decodedRows, rows.Length);
        Interlocked.Add(ref _prefillChunks, chunks.Count);
        if (rows.Length > 0 && chunks.Count > 0)
        {
            Interlocked.Increment(ref _mixedIterations);
        }

        Volatile.Write(ref _largestBatch, Math.Max(_largestBatch, rows.Length));
        using (logits)
        {
            for (var b = 0; b < decoding.Length; b++)
            {
                var entry = decoding[b];
                try
                {
                    using var row = logits[b]; // [vocab]
                    if (!entry.Step.Accept(row))
                    {
                        _decoding.Remove(entry);
                        entry.Finish(null);
                    }
                }
                catch (Exception e)
                {
                    _decoding.Remove(entry);
                    entry.Finish(e);
                }
            }

            for (var c = 0; c < chunked.Count; c++)
            {
                var entry = chunked[c];
                try
                {
                    using var row = logits[rows.Length + c]; // [vocab]
                    var progress = entry.Step.EndChunk(row, passMs);
                    if (progress == StepProgress.Prefilling)
                    {
                        continue;
                    }

                    _prefilling.Remove(entry);
                    if (progress == StepProgress.Decoding)
                    {
                        _decoding.Add(entry);
                    }
                    else
                    {
                        entry.Finish(null);
                    }
                }
                catch (Exception e)
                {
                    _prefilling.Remove(entry);
                    entry.Finish(e);
                }
            }
        }
    }

    /// <summary>A step in the scheduler and the signal its caller waits on.</summary>
    private sealed class Entry(IScheduledStep step)
    {
        public IScheduledStep Step { get; } = step;

        public TaskCompletionSource Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public void Finish(Exception? error)
        {
            if (error is null)
            {
                Completion.TrySetResult();
            }
            else
            {
                Completion.TrySetException(error);
            }
        }
    }
}
