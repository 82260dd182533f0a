using TorchSharp;

namespace StarKv.Compression.Api;

/// <summary>
/// Everything a compressor sees of one layer after a turn's prefill. Tensors may be of any floating dtype
/// and on any device; compressors score in fp32 on the tensors' device. The caller owns the tensors.
/// </summary>
public sealed record LayerCompressionInput
{
    /// <summary>Queries of the last W tokens after rotary embedding. // [H, W, D]</summary>
    public required torch.Tensor WindowQueries { get; init; }

    /// <summary>
    /// Queries of every token prefilled this turn after rotary embedding, the window's last; used by methods
    /// that accumulate attention over the whole prefill (H2O). Null means the window queries stand in. // [H, T, D]
    /// </summary>
    public torch.Tensor? TurnQueries { get; init; }

    /// <summary>
    /// Σ over the turn's T queries and each KV group's r query heads of the attention probability every cached entry
    /// received in this turn's prefill, fp32, as the model's attention computed it; null when the prefill did not
    /// accumulate it (see <see cref="IKvCompressor.UsesPrefillColumnSums"/>). // [G, L]
    /// </summary>
    public torch.Tensor? PrefillColumnSums { get; init; }

    /// <summary>The layer's cached keys after rotary embedding, KV heads only. // [G, L, D]</summary>
    public required torch.Tensor Keys { get; init; }

    /// <summary>
    /// Hidden states entering the layer for the current screenshot's tokens, in cache order; zero rows when
    /// this turn has no screenshot. // [V, hidden]
    /// </summary>
    public required torch.Tensor ScreenshotHiddenStates { get; init; }

    /// <summary>
    /// Bookkeeping of every cached entry per KV head, in cache order: <c>Tokens[g][j]</c> describes entry j of
    /// head g. Heads hold different entries once a per-head method has compressed them; the tokens of the
    /// current turn (the cache's tail) are the same for every head. // [G][L]
    /// </summary>
    public required IReadOnlyList<IReadOnlyList<TokenInfo>> Tokens { get; init; }

    /// <summary>The grid of the current (newest) screenshot, or null when the cache holds none.</summary>
    public ScreenshotGrid? CurrentScreenshot { get; init; }

    public required int LayerIndex { get; init; }

    public required int LayerCount { get; init; }

    /// <summary>Every token the session has ever prefilled (L_seen ≥ L).</summary>
    public required long SeenTokens { get; init; }

    public required KvBudget Budget { get; init; }

    /// <summary>The session's compressor state; methods with memory read and update it.</summary>
    public required CompressorState State { get; init; }
}
