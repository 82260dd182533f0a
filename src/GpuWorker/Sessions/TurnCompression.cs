using System.Diagnostics;
using StarKv.Compression.Api;
using StarKv.GpuWorker.Cache;
using StarKv.Telemetry;
using TorchSharp;

namespace StarKv.GpuWorker.Sessions;

/// <summary>
/// One turn's per-layer compression: what every layer's call to the session's compressor shares (budget, current
/// screenshot, state) and what the turn reports (entries kept per layer, milliseconds spent). A prefill calls
/// <see cref="Compress"/> once per layer, right after that layer's attention over the whole turn.
/// </summary>
internal sealed class TurnCompression(
    IKvCompressor compressor,
    CompressorState state,
    KvBudget budget,
    ScreenshotGrid screenshot,
    int screenshotStart,
    int screenshotTokens,
    int layerCount,
    CancellationToken cancellationToken)
{
    private readonly long[] _kept = new long[layerCount];

    /// <summary>Where the current screenshot's tokens start in the turn.</summary>
    public int ScreenshotStart { get; } = screenshotStart;

    /// <summary>How many tokens the current screenshot has.</summary>
    public int ScreenshotTokens { get; } = screenshotTokens;

    /// <summary>Whether the compressor scores with the prefill's attention column sums (H2O).</summary>
    public bool UsesColumnSums => compressor.UsesPrefillColumnSums;

    /// <summary>Entries each layer kept (per KV head, the cache's count after its compression).</summary>
    public IReadOnlyList<long> KeptPerLayer => _kept;

    /// <summary>Milliseconds spent compressing so far.</summary>
    public double Milliseconds { get; private set; }

    /// <summary>Compresses one layer's cache after its attention over the turn.</summary>
    /// <param name="layer">The decoder layer.</param>
    /// <param name="layers">How many layers the model has.</param>
    /// <param name="turnQueries">The turn's queries after rotary embedding, all T of them. // [H, T, D]</param>
    /// <param name="cache">The layer's cache, the turn's entries last.</param>
    /// <param name="columnSums">The turn's attention column sums when the prefill accumulated them. // [G, N]</param>
    /// <param name="screenshotHidden">Hidden states entering the layer of the current screenshot's tokens. // [V, hidden]</param>
    public void Compress(int layer, int layers, torch.Tensor turnQueries, LayerKvCache cache, torch.Tensor? columnSums, torch.Tensor screenshotHidden)
    {
        cancellationToken.ThrowIfCancellationRequested();
        using var span = StarKvTelemetry.StartPhase(StarKvSpanNames.Compress)?.SetTag(StarKvAttributes.Layer, layer);
        var watch = Stopwatch.StartNew();
        using var scope = torch.NewDisposeScope();
        var turnLength = turnQueries.shape[1];
        var window = Math.Min(compressor.WindowSize, turnLength);
        var input = new LayerCompressionInput
        {
            WindowQueries = turnQueries.narrow(1, turnLength - window, window), // [H, W, D]
            TurnQueries = turnQueries,
            PrefillColumnSums = columnSums,
            Keys = cache.Keys,
            ScreenshotHiddenStates = screenshotHidden,
            Tokens = cache.Tokens,
            CurrentScreenshot = screenshot,
            LayerIndex = layer,
            LayerCount = layers,
            SeenTokens = cache.SeenTokens,
            Budget = budget,
            State = state,
        };
        using var selection = compressor.Compress(input);
        if (!selection.IsNoOp)
        {
            cache.Gather(selection.Indices);
        }

        _kept[layer] = cache.Count;
        Milliseconds += watch.Elapsed.TotalMilliseconds;
    }
}
