using TorchSharp;

namespace StarKv.GpuWorker.Model.Text;

/// <summary>
/// Multimodal rotary embedding of Qwen2-VL / Qwen2.5-VL (transformers' <c>apply_multimodal_rotary_pos_emb</c>).
/// Frequencies <c>θ_j = base^(−2j/D)</c>, j &lt; D/2. The frequency pairs are split by <c>mrope_section</c> =
/// [s_t, s_h, s_w] (summing to D/2): j &lt; s_t turns with the temporal position, the next s_h with the height
/// position, the rest with the width position; the second half of the head dimension repeats the first (the
/// sections doubled). Angles are computed in fp32 as transformers does; cos and sin are cast to the model dtype.
/// Rotation: <c>x·cos + rotate_half(x)·sin</c> with <c>rotate_half([a, b]) = [−b, a]</c>.
/// </summary>
public static class MropeRotary
{
    /// <summary>cos and sin for the given 3-D positions. // each [T, D]</summary>
    /// <param name="positions">(t, h, w) position ids, any device. // [3, T] int64</param>
    /// <param name="headDim">D.</param>
    /// <param name="theta">The rotary base (<c>rope_theta</c>).</param>
    /// <param name="mropeSection">Frequency pairs per (t, h, w), summing to D/2.</param>
    /// <param name="device">Where cos and sin are made.</param>
    /// <param name="dtype">The dtype of cos and sin.</param>
    public static (torch.Tensor Cos, torch.Tensor Sin) CosSin(
        torch.Tensor positions, int headDim, double theta, IReadOnlyList<int> mropeSection, torch.Device device, torch.ScalarType dtype)
    {
        ArgumentNullException.ThrowIfNull(positions);
        ArgumentNullException.ThrowIfNull(mropeSection);
        if (positions.dim() != 2 || positions.shape[0] != 3)
        {
            throw new ArgumentException($"M-RoPE positions must be [3, T]; got [{string.Join(", ", positions.shape)}].", nameof(positions));
        }

        var half = headDim / 2;
        if (mropeSection.Count != 3 || mropeSection.Sum() != half)
        {
            throw new ArgumentException($"mrope_section [{string.Join(", ", mropeSection)}] must have three parts summing to {half}.", nameof(mropeSection));
        }

        using var scope = torch.NewDisposeScope();
        var selector = new long[half];
        for (var j = 0; j < half; j++)
        {
            selector[j] = j < mropeSection[0] ? 0 : j < mropeSection[0] + mropeSection[1] ? 1 : 2;
        }

        var invFreq = InverseFrequencies(headDim, theta, device); // [D/2]
        var rows = positions.to(device).index_select(0, torch.tensor(selector, device: device)); // [D/2, T]
        var angles = rows.to(torch.ScalarType.Float32).t() * invFreq; // [T, D/2]
        var emb = torch.cat([angles, angles], 1); // [T, D]
        return (emb.cos().to(dtype).MoveToOuterDisposeScope(), emb.sin().to(dtype).MoveToOuterDisposeScope());
    }

    /// <summary><c>1 / base^(2j/D)</c> in fp32. // [D/2]</summary>
    public static torch.Tensor InverseFrequencies(int dim, double theta, torch.Device device)
    {
        using var scope = torch.NewDisposeScope();
        // Scalars held until the end of the method (see RmsNorm: a temporary Scalar may be finalised mid-call).
        using Scalar start = 0, stop = dim, step = 2, divisor = dim;
        var exponents = torch.arange(start, stop, step, dtype: torch.ScalarType.Int64, device: device).to(torch.ScalarType.Float32) / divisor; // [dim/2]
        var thetaTensor = torch.tensor(theta, device: device); // [] float64; a 0-d operand leaves the result fp32
        return torch.pow(thetaTensor, exponents).reciprocal().MoveToOuterDisposeScope();
    }

    /// <summary>Rotates <paramref name="x"/> by per-token angles.</summary>
    /// <param name="x">// [..., T, D]</param>
    /// <param name="cos">// [T, D]</param>
    /// <param name="sin">// [T, D]</param>
    public static torch.Tensor Apply(torch.Tensor x, torch.Tensor cos, torch.Tensor sin)
    {
        using var scope = torch.NewDisposeScope();
        return ((x * cos) + (RotateHalf(x) * sin)).MoveToOuterDisposeScope();
    }

    /// <summary><c>[a, b] → [−b, a]</c> over the last dimension.</summary>
    public static torch.Tensor RotateHalf(torch.Tensor x)
    {
        using var scope = torch.NewDisposeScope();
        var half = x.shape[^1] / 2;
        var first = x.narrow(-1, 0, half);
        var second = x.narrow(-1, half, half);
        return torch.cat([-second, first], -1).MoveToOuterDisposeScope();
    }
}
