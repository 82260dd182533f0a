using TorchSharp;

namespace StarKv.Compression.Scoring;

/// <summary>
/// Smooths scores along the token order with a 1-D pool of odd kernel k, stride 1, padding (k − 1)/2, so the
/// output has the input's length: average pool <c>y_j = (1/k) Σ_{|i−j|≤(k−1)/2} x_i</c> with zeros outside
/// [0, P), or max pool over the same neighbourhood.
/// </summary>
public static class ScorePooling
{
    /// <param name="scores">Scores per row. // [N, P]</param>
    /// <param name="kind">The pool.</param>
    /// <param name="kernel">Odd kernel size (SnapKV uses 5).</param>
    /// <returns>Pooled scores. // [N, P]</returns>
    public static torch.Tensor Pool(torch.Tensor scores, PoolingKind kind, int kernel)
    {
        ArgumentNullException.ThrowIfNull(scores);
        if (kind == PoolingKind.None || kernel == 1)
        {
            return scores.alias();
        }

        if (kernel <= 0 || kernel % 2 == 0)
        {
            throw new ArgumentOutOfRangeException(nameof(kernel), kernel, "The pooling kernel must be a positive odd number.");
        }

        using var scope = torch.NewDisposeScope();
        var padding = (kernel - 1) / 2;
        var input = scores.unsqueeze(1); // [N, 1, P]
        var pooled = kind switch
        {
            PoolingKind.Average => torch.nn.functional.avg_pool1d(input, kernel, 1, padding, false, true),
            PoolingKind.Max => torch.nn.functional.max_pool1d(input, kernel, 1, padding),
            _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "Unknown pooling kind."),
        }; // [N, 1, P]
        return pooled.squeeze(1).MoveToOuterDisposeScope();
    }
}
