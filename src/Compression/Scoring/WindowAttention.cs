using StarKv.Compression.Selection;
using TorchSharp;

namespace StarKv.Compression.Scoring;

/// <summary>
/// SnapKV's observation-window scores: for each query head h, <c>a_h[j] = Σ_{i&lt;W} softmax_j(q_i·k_jᵀ/√D)</c>
/// over the L cached keys, with query i (cache index P + i) masked from keys after it, kept for the P past
/// entries. Grouped-query attention: query head h reads KV head <c>h / r</c>; keys are never expanded.
/// </summary>
public static class WindowAttention
{
    /// <param name="queries">Window queries after rotary embedding. // [H, W, D]</param>
    /// <param name="keys">Cached keys after rotary embedding. // [G, L, D]</param>
    /// <param name="shape">The layer's sizes.</param>
    /// <returns>Window scores of the past entries per query head, fp32. // [H, P]</returns>
    public static torch.Tensor Scores(torch.Tensor queries, torch.Tensor keys, LayerShape shape)
    {
        ArgumentNullException.ThrowIfNull(queries);
        ArgumentNullException.ThrowIfNull(keys);
        using var scope = torch.NewDisposeScope();
        var (g, r, w, l, d, p) = (shape.Groups, shape.HeadsPerGroup, shape.Window, shape.Length, shape.HeadDim, shape.Past);
        var q = queries.to(torch.float32).reshape(g, r, w, d); // [G, r, W, D]
        var k = keys.to(torch.float32).unsqueeze(1); // [G, 1, L, D]
        var logits = q.matmul(k.transpose(-1, -2)).div_(Math.Sqrt(d)); // [G, r, W, L]
        var keyIndex = torch.arange(l, torch.int64, keys.device).unsqueeze(0); // [1, L]
        var queryIndex = torch.arange(p, l, torch.int64, keys.device).unsqueeze(1); // [W, 1]
        var future = keyIndex.gt(queryIndex); // [W, L]
        logits.masked_fill_(future, float.NegativeInfinity);
        var attention = logits.softmax(-1).sum(2); // [G, r, L]
        var past = attention.narrow(-1, 0, p).reshape(g * r, p); // [H, P]
        return past.contiguous().MoveToOuterDisposeScope();
    }

    /// <summary>Mean over each KV group's query heads. // [H, N] → [G, N]</summary>
    public static torch.Tensor GroupMean(torch.Tensor perHead, int groups)
    {
        ArgumentNullException.ThrowIfNull(perHead);
        return perHead.reshape(groups, -1, perHead.shape[1]).mean([1]);
    }
}
