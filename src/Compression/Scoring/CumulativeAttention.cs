using StarKv.Compression.Tensors;
using TorchSharp;

namespace StarKv.Compression.Scoring;

/// <summary>
/// H2O's heavy-hitter scores: the attention each cached entry received from the T queries of this turn's
/// prefill (cache indices L − T … L − 1, causal), divided by how many of those queries can see it:
/// <c>c_h[j] = Σ_i softmax_j(q_i·k_jᵀ/√D) / n_j</c>, <c>n_j = T</c> for j &lt; L − T and <c>L − j</c> otherwise.
/// Queries are processed in chunks so the [H, T, L] map is never held at once; each chunk stacks a group's r query heads
/// along the query axis and multiplies them with the group's keys in one batched product (keys never expanded), and the
/// softmax runs in place on the chunk's logits. The model's prefill can accumulate the same column sums inside its own
/// attention (<see cref="FromColumnSums"/>), which is how a session feeds H2O.
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
        using var scalars = new HeldScalars();
        var (h, t, d) = (queries.shape[0], queries.shape[1], queries.shape[2]);
        var (g, l) = (keys.shape[0], keys.shape[1]);
        var r = h / g;
        var kT = keys.to(torch.float32).transpose(1, 2); // [G, D, L]
        var grouped = queries.reshape(g, r, t, d); // [G, r, T, D]
        var total = torch.zeros([g, r, l], torch.float32, keys.device); // [G, r, L]
        var keyIndex = torch.arange(scalars[l], torch.int64, keys.device).unsqueeze(0); // [1, L]
        var scale = scalars[1 / Math.Sqrt(d)];
        var minusInfinity = scalars[double.NegativeInfinity];
        for (long start = 0; start < t; start += chunk)
        {
            using var chunkScope = torch.NewDisposeScope();
            var n = Math.Min(chunk, t - start);
            var q = grouped.narrow(2, start, n).to(torch.float32).reshape(g, r * n, d); // [G, r·n, D]
            var logits = torch.bmm(q, kT).mul_(scale).view(g, r, n, l); // [G, r, n, L]
            var queryIndex = torch.arange(scalars[l - t + start], scalars[l - t + start + n], torch.int64, keys.device).unsqueeze(1); // [n, 1]
            logits.masked_fill_(keyIndex.gt(queryIndex), minusInfinity);
            SoftmaxInPlace(logits);
            total.add_(logits.sum(2));
        }

        return total.div_(Visible(l, t, keys.device, scalars)).reshape(h, l).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// H2O's group scores from column sums a prefill accumulated: <c>S_g[j] = Σ_{h∈g} Σ_i p_{h,i}[j] / (r · n_j)</c>, the
    /// mean over the group's query heads of <see cref="Scores"/>.
    /// </summary>
    /// <param name="columnSums">Σ over the turn's queries and each group's query heads of the attention each entry received, fp32. // [G, L]</param>
    /// <param name="turn">T, the queries of the turn.</param>
    /// <param name="headsPerGroup">r = H / G.</param>
    /// <returns>Normalised cumulative attention per KV group, fp32. // [G, L]</returns>
    public static torch.Tensor FromColumnSums(torch.Tensor columnSums, long turn, int headsPerGroup)
    {
        ArgumentNullException.ThrowIfNull(columnSums);
        using var scope = torch.NewDisposeScope();
        using var scalars = new HeldScalars();
        var l = columnSums.shape[1];
        var visible = Visible(l, turn, columnSums.device, scalars).mul_(scalars[headsPerGroup]); // [L]
        return columnSums.to(torch.float32).div(visible).MoveToOuterDisposeScope();
    }

    /// <summary>How many of the turn's T queries see entry j of L: <c>min(T, L − j)</c>, fp32. // [L]</summary>
    private static torch.Tensor Visible(long l, long t, torch.Device device, HeldScalars scalars) =>
        torch.arange(scalars[l], torch.float64, device).neg_().add_(scalars[l]).clamp_max_(scalars[t]).to(torch.float32);

    /// <summary>Softmax over the last axis, in place (rows that are all −∞ do not occur: every query sees itself).</summary>
    private static void SoftmaxInPlace(torch.Tensor logits)
    {
        using var max = logits.amax([-1], keepdim: true); // [..., 1]
        logits.sub_(max).exp_();
        using var sum = logits.sum([-1], keepdim: true); // [..., 1]
        logits.div_(sum);
    }
}
