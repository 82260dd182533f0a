using TorchSharp;

namespace StarKv.Compression.Scoring;

/// <summary>
/// H2O's heavy-hitter scores: the attention each cached entry received from the T queries of this turn's
/// prefill (cache indices L − T … L − 1, causal), divided by how many of those queries can see it:
/// <c>c_h[j] = Σ_i softmax_j(q_i·k_jᵀ/√D) / n_j</c>, <c>n_j = T</c> for j &lt; L − T and <c>L − j</c> otherwise.
/// Queries are processed in chunks so the [H, T, L] map is never held at once.
/// </summary>
public static class CumulativeAttention
{
    /// <param name="queries">This turn's queries after rotary embedding. // [H, T, D]</param>
    /// <param name="keys">Cached keys after rotary embedding. // [G, L, D]</param>
    /// <param name="chunk">Queries per chunk.</param>
    /// <returns>Normalised cumulative attention per query head, fp32. // [H, L]</returns>
    public static torch.Tensor Scores(torch.Tensor queries, torch.Tensor keys, int chunk = 256)
    {
        ArgumentNullException.ThrowIfNull(queries);
        ArgumentNullException.ThrowIfNull(keys);
        using var scope = torch.NewDisposeScope();
        var (h, t, d) = (queries.shape[0], queries.shape[1], queries.shape[2]);
        var (g, l) = (keys.shape[0], keys.shape[1]);
        var r = h / g;
        var k = keys.to(torch.float32).unsqueeze(1).transpose(-1, -2); // [G, 1, D, L]
        var total = torch.zeros([g, r, l], torch.float32, keys.device); // [G, r, L]
        var keyIndex = torch.arange(l, torch.int64, keys.device).unsqueeze(0); // [1, L]
        for (long start = 0; start < t; start += chunk)
        {
            using var chunkScope = torch.NewDisposeScope();
            var n = Math.Min(chunk, t - start);
            var q = queries.narrow(1, start, n).to(torch.float32).reshape(g, r, n, d); // [G, r, n, D]
            var logits = q.matmul(k).div_(Math.Sqrt(d)); // [G, r, n, L]
            var queryIndex = torch.arange(l - t + start, l - t + start + n, torch.int64, keys.device).unsqueeze(1); // [n, 1]
            logits.masked_fill_(keyIndex.gt(queryIndex), float.NegativeInfinity);
            total.add_(logits.softmax(-1).sum(2));
        }

        var visible = torch.arange(l, torch.float64, keys.device).neg().add(l).clamp_max(t).to(torch.float32); // [L]
        return total.div(visible).reshape(h, l).MoveToOuterDisposeScope();
    }
}
