using StarKv.GpuWorker.Model;
using StarKv.GpuWorker.Model.Batching;
using TorchSharp;

namespace StarKv.GpuWorker.Runtime.Scheduling;

/// <summary>
/// Continuous batching of one runtime's steps (iteration-level scheduling): a thread runs iterations while steps are
/// in flight. Each iteration, under the runtime's execution gate,
/// <list type="number">
/// <item>drops the steps whose token was cancelled (their sessions roll back; the others carry on);</item>
/// <item>decodes the next token of every decoding step in one <see cref="Qwen25VlModel.DecodeBatch"/> (rows of
/// different sessions, lengths, methods and budgets; each appends to its own cache);</item>
/// <item>admits waiting steps in arrival order while the batch has room (<see cref="StepSchedulerOptions.MaxBatchSize"/>)
/// and their prefills fit what is left of <see cref="StepSchedulerOptions.MaxTokensPerIteration"/>, and runs each
/// prefill (vision, prefill, each layer compressed right after its attention with the session's own compressor, the
/// first token); they decode from the next iteration on.</item>
/// </list>
/// A step that throws (a compressor, a bad input, a cancelled token between layers) leaves the batch alone; its caller
/// rolls its session back. A failure of the batched decode itself fails every row of that batch.
/// </summary>
public sealed class StepScheduler : IDisposable
{
    private readonly Qwen25VlModel _model;
    private readonly Lock _gate;
    private readonly IBatchedAttention _attention;
    private readonly object _sync = new();
    private readonly Queue<Entry> _waiting = new();
    private readonly List<Entry> _decoding = [];
    private Thread? _thread;
    private bool _stopping;
    private long _iterations;
    private long _decodedRows;
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

    /// <summary>The most rows one batched decode has held.</summary>
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
                while (!_stopping && _waiting.Count == 0 && _decoding.Count == 0)
                {
                    Monitor.Wait(_sync);
                }

                if (_stopping)
                {
                    var stopped = new ObjectDisposedException(nameof(StepScheduler), "The runtime was disposed while the step ran.");
                    _decoding.ForEach(e => e.Finish(stopped));
                    _decoding.Clear();
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
                _decoding.ForEach(entry => entry.Finish(e));
                _decoding.Clear();
            }
        }
    }

    /// <summary>Takes waiting steps in arrival order while the batch has room and their prefills fit the token budget.</summary>
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

        var budget = Options.MaxTokensPerIteration - _decoding.Count;
        while (_waiting.Count > 0 && _decoding.Count + admitted.Count < Options.MaxBatchSize)
        {
            var next = _waiting.Peek();
            if (admitted.Count > 0 && next.Step.PrefillTokens > budget)
            {
                break;
            }

            admitted.Add(_waiting.Dequeue());
            budget -= next.Step.PrefillTokens;
        }

        return admitted;
    }

    private void Iterate(List<Entry> admitted)
    {
        Interlocked.Increment(ref _iterations);
        for (var i = _decoding.Count - 1; i >= 0; i--)
        {
            var entry = _decoding[i];
            if (entry.Step.CancellationToken.IsCancellationRequested)
            {
                _decoding.RemoveAt(i);
                entry.Finish(new OperationCanceledException(entry.Step.CancellationToken));
            }
        }

        using var gate = _gate.EnterScope();
        using var noGrad = torch.no_grad();
        if (_decoding.Count > 0)
        {
            DecodeBatch();
        }

        foreach (var entry in admitted)
        {
            try
            {
                entry.Step.CancellationToken.ThrowIfCancellationRequested();
                if (entry.Step.Prefill())
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
                entry.Finish(e);
            }
        }
    }

    private void DecodeBatch()
    {
        var rows = _decoding.Select(e => e.Step.NextRow).ToArray();
        torch.Tensor logits; // [B, vocab]
        try
        {
            if (rows.Length == 1)
            {
                // A batch of one is the serial decode, without the batched layer's gathers.
                using var single = _model.DecodeStep(rows[0].TokenId, rows[0].Position, rows[0].Cache); // [vocab]
                logits = single.unsqueeze(0);
            }
            else
            {
                logits = _model.DecodeBatch(rows, _attention);
            }
        }
        catch (Exception e)
        {
            _decoding.ForEach(entry => entry.Finish(e));
            _decoding.Clear();
            return;
        }

        Interlocked.Add(ref _decodedRows, rows.Length);
        Volatile.Write(ref _largestBatch, Math.Max(_largestBatch, rows.Length));
        using (logits)
        {
            for (var b = _decoding.Count - 1; b >= 0; b--)
            {
                var entry = _decoding[b];
                try
                {
                    using var row = logits[b]; // [vocab]
                    if (!entry.Step.Accept(row))
                    {
                        _decoding.RemoveAt(b);
                        entry.Finish(null);
                    }
                }
                catch (Exception e)
                {
                    _decoding.RemoveAt(b);
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
