using StarKv.Compression.Api;
using StarKv.GpuWorker.Cache;
using StarKv.GpuWorker.Model.Batching;
using StarKv.GpuWorker.Model.Layers;
using TorchSharp;

namespace StarKv.GpuWorker.Model.Text;

/// <summary>
/// Qwen2 self-attention with grouped KV heads: q/k/v projections with bias, o projection without, M-RoPE on
/// queries and keys, the turn's keys and values appended to the layer's cache before attending.
/// </summary>
public sealed class TextAttention : IDisposable
{
    private readonly torch.Tensor _q; // [H·D, hidden]
    private readonly torch.Tensor _qBias; // [H·D]
    private readonly torch.Tensor _k; // [G·D, hidden]
    private readonly torch.Tensor _kBias; // [G·D]
    private readonly torch.Tensor _v; // [G·D, hidden]
    private readonly torch.Tensor _vBias; // [G·D]
    private readonly torch.Tensor _o; // [hidden, H·D]

    private TextAttention(int heads, int kvHeads, int headDim, torch.Tensor q, torch.Tensor qBias, torch.Tensor k, torch.Tensor kBias, torch.Tensor v, torch.Tensor vBias, torch.Tensor o)
    {
        Heads = heads;
        KvHeads = kvHeads;
        HeadDim = headDim;
        _q = q;
        _qBias = qBias;
        _k = k;
        _kBias = kBias;
        _v = v;
        _vBias = vBias;
        _o = o;
    }

    public int Heads { get; }

    public int KvHeads { get; }

    public int HeadDim { get; }

    public static TextAttention Load(WeightReader weights, string prefix, TextConfig config)
    {
        ArgumentNullException.ThrowIfNull(weights);
        ArgumentNullException.ThrowIfNull(config);
        long hidden = config.HiddenSize, qOut = (long)config.NumAttentionHeads * config.HeadDim, kvOut = (long)config.NumKeyValueHeads * config.HeadDim;
        return new TextAttention(
            config.NumAttentionHeads,
            config.NumKeyValueHeads,
            config.HeadDim,
            weights.Take($"{prefix}.q_proj.weight", qOut, hidden),
            weights.Take($"{prefix}.q_proj.bias", qOut),
            weights.Take($"{prefix}.k_proj.weight", kvOut, hidden),
            weights.Take($"{prefix}.k_proj.bias", kvOut),
            weights.Take($"{prefix}.v_proj.weight", kvOut, hidden),
            weights.Take($"{prefix}.v_proj.bias", kvOut),
            weights.Take($"{prefix}.o_proj.weight", hidden, qOut));
    }

    /// <summary>
    /// Projects the turn, rotates, appends its keys and values to <paramref name="cache"/>, attends causally
    /// over everything the cache holds, and projects out.
    /// </summary>
    /// <param name="x">Normalised hidden states of the turn. // [T, hidden]</param>
    /// <param name="cos">// [T, D]</param>
    /// <param name="sin">// [T, D]</param>
    /// <param name="cache">The layer's cache; the turn's keys and values are appended to it.</param>
    /// <param name="tokens">The turn's bookkeeping, one entry per token.</param>
    /// <param name="columnSums">
    /// Whether to attend with the explicit softmax that also returns each group's column sums
    /// (<see cref="GroupedAttention.AttendTailWithColumnSums"/>), for H2O; otherwise the fused attention.
    /// </param>
    /// <returns>
    /// The attention output <c>[T, hidden]</c>, the rotated queries <c>[H, T, D]</c> and, when asked, the column sums
    /// <c>[G, N]</c>; the caller owns them.
    /// </returns>
    public (torch.Tensor Output, torch.Tensor Queries, torch.Tensor? ColumnSums) Forward(
        torch.Tensor x, torch.Tensor cos, torch.Tensor sin, LayerKvCache cache, IReadOnlyList<TokenInfo> tokens, bool columnSums = false)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(cache);
        using var scope = torch.NewDisposeScope();
        var turn = x.shape[0];
        var (queries, keys, values) = Project(x, cos, sin); // [H, T, D], [G, T, D], [G, T, D]
        var (attended, sums) = AppendAndAttendTail(queries, keys, values, cache, tokens, columnSums); // [H, T, D], [G, N]
        var output = OutputProjection(attended, turn); // [T, hidden]
        return (output.MoveToOuterDisposeScope(), queries.MoveToOuterDisposeScope(), sums?.MoveToOuterDisposeScope());
    }

    /// <summary>
    /// The attention of a batched forward pass over rows of several sessions: first B decode rows (one new token each,
    /// each row a different session with its own cache), then the rows of prefill chunks (consecutive tokens of one
    /// session's turn each). The projections run once over all R rows; <paramref name="attention"/> appends each decode
    /// row's key and value to its cache and attends it over that cache (the KV-layout seam, <see cref="IBatchedAttention"/>);
    /// each chunk appends its keys and values to its own cache and attends causally as <see cref="Forward"/> does.
    /// </summary>
    /// <param name="x">Normalised hidden states of the rows: decode rows first, then each chunk's rows in order. // [R, hidden]</param>
    /// <param name="cos">// [R, D]</param>
    /// <param name="sin">// [R, D]</param>
    /// <param name="decodeCaches">Each decode row's cache of this layer (B entries).</param>
    /// <param name="decodeTokens">Each decode row's bookkeeping entry.</param>
    /// <param name="chunks">Each chunk's cache of this layer, bookkeeping, and whether it wants column sums.</param>
    /// <param name="attention">How the decode rows read their caches.</param>
    /// <returns>
    /// The attention output of every row <c>[R, hidden]</c>, and each chunk's rotated queries <c>[H, T, D]</c> and, when
    /// asked, column sums <c>[G, N]</c>; the caller owns them.
    /// </returns>
    public (torch.Tensor Output, IReadOnlyList<(torch.Tensor Queries, torch.Tensor? ColumnSums)> Chunks) ForwardMixed(
        torch.Tensor x,
        torch.Tensor cos,
        torch.Tensor sin,
        IReadOnlyList<LayerKvCache> decodeCaches,
        IReadOnlyList<TokenInfo> decodeTokens,
        IReadOnlyList<(LayerKvCache Cache, IReadOnlyList<TokenInfo> Tokens, bool ColumnSums)> chunks,
        IBatchedAttention attention)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(decodeCaches);
        ArgumentNullException.ThrowIfNull(chunks);
        ArgumentNullException.ThrowIfNull(attention);
        using var scope = torch.NewDisposeScope();
        var rows = x.shape[0];
        var (queries, keys, values) = Project(x, cos, sin); // [H, R, D], [G, R, D], [G, R, D]
        var parts = new List<torch.Tensor>(chunks.Count + 1);
        var decoded = decodeCaches.Count;
        if (decoded > 0)
        {
            parts.Add(attention.AppendAndAttend(
                queries.narrow(1, 0, decoded).contiguous(), keys.narrow(1, 0, decoded), values.narrow(1, 0, decoded), decodeCaches, decodeTokens)); // [H, B, D]
        }

        var results = new List<(torch.Tensor, torch.Tensor?)>(chunks.Count);
        long start = decoded;
        foreach (var (cache, tokens, columnSums) in chunks)
        {
            var length = tokens.Count;
            var chunkQueries = queries.narrow(1, start, length).contiguous(); // [H, T, D]
            var (attended, sums) = AppendAndAttendTail(chunkQueries, keys.narrow(1, start, length), values.narrow(1, start, length), cache, tokens, columnSums);
            parts.Add(attended); // [H, T, D]
            results.Add((chunkQueries.MoveToOuterDisposeScope(), sums?.MoveToOuterDisposeScope()));
            start += length;
        }

        if (start != rows)
        {
            throw new ArgumentException($"{rows} rows given for {decoded} decode rows and chunks of {start - decoded} tokens.", nameof(x));
        }

        var output = OutputProjection(parts.Count == 1 ? parts[0] : torch.cat(parts, 1), rows); // [R, hidden]
        return (output.MoveToOuterDisposeScope(), results);
    }

    /// <summary>The q/k/v projections and M-RoPE of R rows: queries <c>[H, R, D]</c> (contiguous), keys and values <c>[G, R, D]</c>.</summary>
    private (torch.Tensor Queries, torch.Tensor Keys, torch.Tensor Values) Project(torch.Tensor x, torch.Tensor cos, torch.Tensor sin)
    {
        var rows = x.shape[0];
        var q = torch.nn.functional.linear(x, _q, _qBias).view(rows, Heads, HeadDim).transpose(0, 1); // [H, R, D]
        var k = torch.nn.functional.linear(x, _k, _kBias).view(rows, KvHeads, HeadDim).transpose(0, 1); // [G, R, D]
        var v = torch.nn.functional.linear(x, _v, _vBias).view(rows, KvHeads, HeadDim).transpose(0, 1); // [G, R, D]
        return (MropeRotary.Apply(q, cos, sin).contiguous(), MropeRotary.Apply(k, cos, sin), v);
    }

    /// <summary>Appends a turn's (or chunk's) keys and values to its cache and attends its queries causally over the cache.</summary>
    private static (torch.Tensor Attended, torch.Tensor? ColumnSums) AppendAndAttendTail(
        torch.Tensor queries, torch.Tensor keys, torch.Tensor values, LayerKvCache cache, IReadOnlyList<TokenInfo> tokens, bool columnSums)
    {
        cache.Append(keys, values, tokens);
        return columnSums
            ? GroupedAttention.AttendTailWithColumnSums(queries, cache.Keys, cache.Values) // [H, T, D], [G, N]
            : (GroupedAttention.AttendTail(queries, cache.Keys, cache.Values), null); // [H, T, D]
    }

    /// <summary>The o projection of attended rows. // [R, hidden]</summary>
    /// <param name="attended">// [H, R, D]</param>
    /// <param name="rows">R.</param>
    private torch.Tensor OutputProjection(torch.Tensor attended, long rows) =>
        torch.nn.functional.linear(attended.transpose(0, 1).reshape(rows, Heads * HeadDim), _o);

    public void Dispose()
    {
        _q.Dispose();
        _qBias.Dispose();
        _k.Dispose();
        _kBias.Dispose();
        _v.Dispose();
        _vBias.Dispose();
        _o.Dispose();
    }
}
