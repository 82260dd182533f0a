using StarKv.Compression.Selection;
using StarKv.Compression.Tensors;
using TorchSharp;

namespace StarKv.Compression.Scoring;

/// <summary>
/// SnapKV's observation-window scores: for each query head h, <c>a_h[j] = Σ_{i&lt;W} softmax_j(q_i·k_jᵀ/√D)</c>
/// over the L cached keys, with query i (cache index P + i) masked from keys after it, kept for the P past
/// entries. Grouped-query attention: query head h reads KV head <c>h / r</c>. The r query heads of a group are
/// stacked along the query axis (<c>[H, W, D] → [G, r·W, D]</c>) and multiplied with the group's keys in one batched
/// product, so the keys are never expanded or copied per query head.
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
        using var scalars = new HeldScalars();
        var (g, r, w, l, d, p) = (shape.Groups, shape.HeadsPerGroup, shape.Window, shape.Length, shape.HeadDim, shape.Past);
        var q = queries.to(torch.float32).reshape(g, r * w, d); // [G, r·W, D]
        var k = keys.to(torch.float32); // [G, L, D]
        var logits = torch.bmm(q, k.transpose(1, 2)).mul_(scalars[1 / Math.Sqrt(d)]).view(g, r, w, l); // [G, r, W, L]
        var keyIndex = torch.arange(scalars[l], torch.int64, keys.device).unsqueeze(0); // [1, L]
        var queryIndex = torch.arange(scalars[p], scalars[l], torch.int64, keys.device).unsqueeze(1); // [W, 1]
        logits.masked_fill_(keyIndex.gt(queryIndex), scalars[double.NegativeInfinity]); // future keys of each window query
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
