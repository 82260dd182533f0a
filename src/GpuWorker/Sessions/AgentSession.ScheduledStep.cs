using System.Diagnostics;
using StarKv.GpuWorker.Cache;
using StarKv.GpuWorker.Images;
using StarKv.GpuWorker.Model;
using StarKv.GpuWorker.Model.Batching;
using StarKv.GpuWorker.Runtime.Scheduling;
using StarKv.Telemetry;
using TorchSharp;

namespace StarKv.GpuWorker.Sessions;

public sealed partial class AgentSession
{
    /// <summary>
    /// A step as the runtime's <see cref="StepScheduler"/> runs it (a retained-cache step on the session's cache, or a
    /// re-prefill step on a fresh one): the same vision, prefill, per-layer
    /// compression and greedy decoding as the serial path, with the prefill run in chunks inside the scheduler's batched
    /// forward passes and the decode tokens fed by its batched decodes.
    /// <para>
    /// A prefill split into chunks appends each chunk's keys and values to the cache and attends it over the cache, so
    /// every token sees what it would in one pass. Compression needs the whole turn, so it runs after each layer's
    /// attention of the last chunk: until then the step keeps, per layer, the chunks' queries, their attention column
    /// sums (when the compressor scores with them) and the hidden states of the current screenshot's tokens, and joins
    /// them for the compressor. That is the turn's queries per layer held across iterations (bounded by the turn limit).
    /// </para>
    /// Its phase spans parent to the caller's step span (the scheduler's thread has none of its own).
    /// </summary>
    /// <param name="session">The session the step belongs to.</param>
    /// <param name="encode">
    /// Runs the vision encoder for the turn (on the scheduler's thread, under the gate) and returns the features of every
    /// image of the turn, in order, which the step then owns, and the encoder's milliseconds. // [ΣV, hidden]
    /// </param>
    /// <param name="grids">The turn's images' grids, the current screenshot last.</param>
    /// <param name="firstScreenshotIndex">The step index of the turn's first image.</param>
    /// <param name="ids">The turn's token ids.</param>
    /// <param name="cache">The cache the turn is prefilled into.</param>
    /// <param name="startPosition">The turn's first rotary position.</param>
    /// <param name="cancellationToken">Cancels this step only.</param>
    private sealed class ScheduledStep(
        AgentSession session,
        Func<(torch.Tensor Features, double Milliseconds)> encode,
        GridThw[] grids,
        int firstScreenshotIndex,
        List<int> ids,
        KvCache cache,
        long startPosition,
        CancellationToken cancellationToken)
        : IScheduledStep, IDisposable
    {
        private readonly Activity? _parent = Activity.Current;
        private readonly List<torch.Tensor>[] _queries = NewLists(cache.LayerCount); // per layer, each chunk's [H, T_c, D]
        private readonly List<torch.Tensor>[] _screenshotHidden = NewLists(cache.LayerCount); // per layer, [V_c, hidden] pieces
        private readonly torch.Tensor?[] _columnSums = new torch.Tensor?[cache.LayerCount]; // per layer, [G, N] so far
        private TurnPlan? _plan;
        private torch.Tensor? _embeddings; // [T, hidden]
        private int _offset;
        private int _chunkLength;
        private Exception? _chunkFailure;
        private double _passMs;
        private TurnResult? _turn;
        private GreedyDecoding? _decoding;
        private double _visionMs;
        private Stopwatch? _decodeWatch;
        private DateTime _decodeStartUtc;
        private DateTime _prefillStartUtc;
        private Activity? _prefillSpan; // opened at the last chunk's first compression, so the layers' spans are its children

        public int PrefillTokens => ids.Count;

        public int PrefillLeft => ids.Count - _offset;

        public CancellationToken CancellationToken => cancellationToken;

        public DecodeRow NextRow => new(_decoding!.NextToken, _decoding.Position, cache);

        public void BeginPrefill() => InParentSpan(() =>
        {
            var (encoded, visionMs) = encode();
            using var features = encoded; // [ΣV, hidden]
            _visionMs = visionMs;
            _plan = session.PlanTurn(ids, grids, firstScreenshotIndex, cache, startPosition, cancellationToken);
            _embeddings = session._runtime.Model.EmbedTurn(ids, features); // [T, hidden]
            _prefillStartUtc = DateTime.UtcNow;
        });

        public PrefillChunk NextChunk(int maxTokens)
        {
            var plan = _plan ?? throw new InvalidOperationException("The prefill has not begun.");
            _chunkLength = Math.Clamp(maxTokens, 1, PrefillLeft);
            _chunkFailure = null;
            return new PrefillChunk(
                _embeddings!.narrow(0, _offset, _chunkLength), // [T_c, hidden]
                plan.Positions.Positions.narrow(1, _offset, _chunkLength), // [3, T_c]
                plan.Bookkeeping.Skip(_offset).Take(_chunkLength).ToArray(),
                cache)
            {
                ColumnSums = plan.Compression.UsesColumnSums,
                AfterLayerAttention = AfterLayerAttention,
            };
        }

        public StepProgress EndChunk(torch.Tensor logits, double passMilliseconds)
        {
            if (_chunkFailure is { } failure)
            {
                System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(failure);
            }

            _offset += _chunkLength;
            _passMs += passMilliseconds;
            if (PrefillLeft > 0)
            {
                return StepProgress.Prefilling;
            }

            var plan = _plan ?? throw new InvalidOperationException("The prefill has not begun.");
            InParentSpan(OpenPrefillSpan);
            using (_prefillSpan)
            {
                using var host = logits.cpu();
                var compression = plan.Compression;
                // The prefill's time is that of the passes its chunks ran in, which other sessions' work shared.
                _turn = new TurnResult(host.data<float>().ToArray(), plan.Positions.NextPosition, compression.KeptPerLayer, _passMs - compression.Milliseconds, compression.Milliseconds);
            }

            _prefillSpan = null;

            ReleasePrefill();
            _decodeStartUtc = DateTime.UtcNow;
            _decodeWatch = Stopwatch.StartNew();
            _decoding = session.StartDecoding(_turn.Logits, _turn.NextPosition);
            return _decoding.Finished ? StepProgress.Done : StepProgress.Decoding;
        }

        public bool Accept(torch.Tensor logits)
        {
            _decoding!.Accept(logits);
            return !_decoding.Finished;
        }

        /// <summary>On the caller's thread once the scheduler finished the step: its turn, its decoding, its vision time.</summary>
        public (TurnResult Turn, DecodeResult Decoded, double VisionMs) Result()
        {
            using (var span = StarKvTelemetry.StartPhase(StarKvSpanNames.Decode))
            {
                span?.SetStartTime(_decodeStartUtc);
            }

            return (_turn!, session.FinishDecoding(_decoding!, _decodeWatch!.Elapsed.TotalMilliseconds), _visionMs);
        }

        /// <summary>Frees what the prefill held when the step ends before its last chunk (cancelled, failed).</summary>
        public void Dispose()
        {
            _prefillSpan?.Dispose();
            _prefillSpan = null;
            ReleasePrefill();
        }

        /// <summary>The prefill's span, once, under the caller's step span, from when the prefill began.</summary>
        private void OpenPrefillSpan()
        {
            if (_prefillSpan is null)
            {
                _prefillSpan = StarKvTelemetry.StartPhase(StarKvSpanNames.Prefill)?.SetTag(StarKvAttributes.Tokens, ids.Count);
                _prefillSpan?.SetStartTime(_prefillStartUtc);
            }
        }

        private static List<torch.Tensor>[] NewLists(int count) => Enumerable.Range(0, count).Select(_ => new List<torch.Tensor>()).ToArray();

        /// <summary>
        /// After one layer's attention of the current chunk: keeps what compression will need, or, on the last chunk,
        /// joins it and compresses the layer. A failure is kept for <see cref="EndChunk"/>, so the pass (shared with other
        /// sessions) runs to its end; the cache entries this step appended meanwhile are rolled back with its session.
        /// </summary>
        private void AfterLayerAttention(LayerAttentionCapture capture)
        {
            if (_chunkFailure is not null)
            {
                return;
            }

            try
            {
                InParentSpan(() =>
                {
                    if (_offset + _chunkLength == ids.Count)
                    {
                        // The last chunk compresses: its layers' compress spans belong to the prefill's span.
                        OpenPrefillSpan();
                        Activity.Current = _prefillSpan ?? _parent;
                    }

                    KeepOrCompress(capture);
                });
            }
            catch (Exception e)
            {
                _chunkFailure = e;
            }
        }

        private void KeepOrCompress(LayerAttentionCapture capture)
        {
            var l = capture.LayerIndex;
            var compression = _plan!.Compression;
            var last = _offset + _chunkLength == ids.Count;

            // The chunk's rows of the current screenshot: [start, end) of the turn, shifted to the chunk.
            var start = Math.Max(compression.ScreenshotStart, _offset);
            var end = Math.Min(compression.ScreenshotStart + compression.ScreenshotTokens, _offset + _chunkLength);
            torch.Tensor? screenshotRows = end > start ? capture.HiddenStatesIn.narrow(0, start - _offset, end - start) : null; // [V_c, hidden]
            var sums = capture.ColumnSums is { } chunkSums ? Accumulate(_columnSums[l], chunkSums) : null; // [G, N]
            if (!last)
            {
                _queries[l].Add(capture.TurnQueries.clone().DetachFromDisposeScope());
                if (screenshotRows is not null)
                {
                    _screenshotHidden[l].Add(screenshotRows.clone().DetachFromDisposeScope());
                }

                _columnSums[l]?.Dispose();
                _columnSums[l] = sums?.DetachFromDisposeScope();
                return;
            }

            using var scope = torch.NewDisposeScope();
            var queries = _queries[l].Count == 0 ? capture.TurnQueries : torch.cat([.. _queries[l], capture.TurnQueries], 1); // [H, T, D]
            var pieces = screenshotRows is null ? _screenshotHidden[l] : [.. _screenshotHidden[l], screenshotRows];
            var screenshotHidden = pieces.Count switch
            {
                0 => capture.HiddenStatesIn.narrow(0, 0, 0), // [0, hidden]: no screenshot rows
                1 => pieces[0],
                _ => torch.cat(pieces, 0), // [V, hidden]
            };
            compression.Compress(l, capture.LayerCount, queries, capture.Cache, sums, screenshotHidden);
        }

        /// <summary>
        /// The column sums over the turn so far: a chunk's queries see the entries before it and its own, so an earlier
        /// chunk's sums cover a prefix of this one's entries (nothing was compressed in between). // [G, N]
        /// </summary>
        private static torch.Tensor Accumulate(torch.Tensor? earlier, torch.Tensor chunk)
        {
            var total = chunk.clone(); // [G, N]
            if (earlier is not null)
            {
                total.narrow(1, 0, earlier.shape[1]).add_(earlier);
            }

            return total;
        }

        private void ReleasePrefill()
        {
            foreach (var list in _queries.Concat(_screenshotHidden))
            {
                list.ForEach(t => t.Dispose());
                list.Clear();
            }

            for (var l = 0; l < _columnSums.Length; l++)
            {
                _columnSums[l]?.Dispose();
                _columnSums[l] = null;
            }

            _embeddings?.Dispose();
            _embeddings = null;
            _plan?.Positions.Dispose();
            _plan = null;
        }

        private void InParentSpan(Action action)
        {
            var previous = Activity.Current;
            Activity.Current = _parent;
            try
            {
                action();
            }
            finally
            {
                Activity.Current = previous;
            }
        }
    }
}
