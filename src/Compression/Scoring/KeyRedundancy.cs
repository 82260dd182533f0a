using TorchSharp;

namespace StarKv.Compression.Scoring;

/// <summary>
/// GUI-KV's temporal redundancy for one KV head: an orthonormal basis Q of the span of (at most 32) current-
/// screenshot keys from a reduced QR, and for a history key k its relative residual
/// <c>ρ = ‖k − QQᵀk‖ / ‖k‖</c> in [0, 1] (0 for a zero key). A small residual means the current screenshot
/// already says what the history token says. The basis keys are the current screenshot's keys at ordinals
/// <c>floor(i·V/R)</c>, i &lt; R = min(rank, V), an even spread over the screenshot.
/// </summary>
public static class KeyRedundancy
{
    /// <summary>GUI-KV's rank bound for the current screenshot's key span.</summary>
    public const int DefaultRank = 32;

    /// <param name="currentKeys">The current screenshot's keys of this head, cache order. // [V, D]</param>
    /// <param name="historyKeys">The history screenshot keys to measure. // [N, D]</param>
    /// <param name="rank">The basis size bound.</param>
    /// <returns>Relative residuals, fp32. // [N]</returns>
    public static torch.Tensor RelativeResiduals(torch.Tensor currentKeys, torch.Tensor historyKeys, int rank = DefaultRank)
    {
        ArgumentNullException.ThrowIfNull(currentKeys);
        ArgumentNullException.ThrowIfNull(historyKeys);
        using var scope = torch.NewDisposeScope();
        var v = currentKeys.shape[0];
        var basisSize = Math.Min(rank, v);
        var ordinals = new long[basisSize];
        for (var i = 0; i < basisSize; i++)
        {
            ordinals[i] = i * v / basisSize;
        }

        var sample = currentKeys.to(torch.float32).index_select(0, torch.tensor(ordinals, device: currentKeys.device)); // [R, D]
        var (q, _) = torch.linalg.qr(sample.t()); // [D, R]
        var k = historyKeys.to(torch.float32); // [N, D]
        var residual = k.sub(k.matmul(q).matmul(q.t())).norm(1); // [N]
        var norm = k.norm(1); // [N]
        var relative = torch.where(norm.gt(0), residual.div(norm.clamp_min(1e-30)), torch.zeros_like(norm)); // [N]
        return relative.clamp(0, 1).MoveToOuterDisposeScope();
    }
}
