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
        var q = torch.nn.functional.linear(x, _q, _qBias).view(turn, Heads, HeadDim).transpose(0, 1); // [H, T, D]
        var k = torch.nn.functional.linear(x, _k, _kBias).view(turn, KvHeads, HeadDim).transpose(0, 1); // [G, T, D]
        var v = torch.nn.functional.linear(x, _v, _vBias).view(turn, KvHeads, HeadDim).transpose(0, 1); // [G, T, D]
        var queries = MropeRotary.Apply(q, cos, sin).contiguous(); // [H, T, D]
        var keys = MropeRotary.Apply(k, cos, sin); // [G, T, D]
        cache.Append(keys, v, tokens);
        torch.Tensor attended; // [H, T, D]
        torch.Tensor? sums = null; // [G, N]
        if (columnSums)
        {
            (attended, sums) = GroupedAttention.AttendTailWithColumnSums(queries, cache.Keys, cache.Values);
        }
        else
        {
            attended = GroupedAttention.AttendTail(queries, cache.Keys, cache.Values);
        }

        var output = torch.nn.functional.linear(attended.transpose(0, 1).reshape(turn, Heads * HeadDim), _o); // [T, hidden]
        return (output.MoveToOuterDisposeScope(), queries.MoveToOuterDisposeScope(), sums?.MoveToOuterDisposeScope());
    }

    /// <summary>
    /// The attention of a batched decode: one new token per row, each row a different session with its own cache.
    /// The projections run once over the B rows; <paramref name="attention"/> appends each row's key and value to its
    /// cache and attends it over that cache (the KV-layout seam, <see cref="IBatchedAttention"/>).
    /// </summary>
    /// <param name="x">Normalised hidden states of the rows' tokens. // [B, hidden]</param>
    /// <param name="cos">// [B, D]</param>
    /// <param name="sin">// [B, D]</param>
    /// <param name="caches">Each row's cache of this layer.</param>
    /// <param name="tokens">Each row's bookkeeping entry.</param>
    /// <param name="attention">How the rows read their caches.</param>
    /// <returns>The attention output. // [B, hidden]</returns>
    public torch.Tensor ForwardBatch(
        torch.Tensor x, torch.Tensor cos, torch.Tensor sin, IReadOnlyList<LayerKvCache> caches, IReadOnlyList<TokenInfo> tokens, IBatchedAttention attention)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(attention);
        using var scope = torch.NewDisposeScope();
        var rows = x.shape[0];
        var q = torch.nn.functional.linear(x, _q, _qBias).view(rows, Heads, HeadDim).transpose(0, 1); // [H, B, D]
        var k = torch.nn.functional.linear(x, _k, _kBias).view(rows, KvHeads, HeadDim).transpose(0, 1); // [G, B, D]
        var v = torch.nn.functional.linear(x, _v, _vBias).view(rows, KvHeads, HeadDim).transpose(0, 1); // [G, B, D]
        var queries = MropeRotary.Apply(q, cos, sin).contiguous(); // [H, B, D]
        var keys = MropeRotary.Apply(k, cos, sin); // [G, B, D]
        var attended = attention.AppendAndAttend(queries, keys, v, caches, tokens); // [H, B, D]
        var output = torch.nn.functional.linear(attended.transpose(0, 1).reshape(rows, Heads * HeadDim), _o); // [B, hidden]
        return output.MoveToOuterDisposeScope();
    }

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
