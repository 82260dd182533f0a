using StarKv.GpuWorker.Images;
using TorchSharp;

namespace StarKv.GpuWorker.Model.Vision;

/// <summary>
/// The vision encoder's 2-D rotary embedding (transformers' <c>rot_pos_emb</c>). Each patch, in the
/// processor's merge-unit order (for every merged cell, its m × m patches row-major), has a row h and a column
/// w in the patch grid. With <c>d = head_dim / 2</c> and frequencies <c>θ_j = 10000^(−2j/d)</c>, j &lt; d/2,
/// its angles are <c>[h·θ_0 … h·θ_{d/2−1}, w·θ_0 … w·θ_{d/2−1}]</c> (d values); the attention rotates with
/// these angles repeated over the two halves of the head (<c>[angles, angles]</c>, head_dim values).
/// </summary>
public static class VisionRotary
{
    public const double Theta = 10000.0;

    /// <summary>(row, col) of each patch in merge-unit order, repeated over the frames. // [N, 2]</summary>
    public static long[] PatchRowCol(GridThw grid, int mergeSize)
    {
        var ids = new long[(long)grid.PatchCount * 2];
        var n = 0;
        for (var t = 0; t < grid.T; t++)
        {
            for (var br = 0; br < grid.H / mergeSize; br++)
            {
                for (var bc = 0; bc < grid.W / mergeSize; bc++)
                {
                    for (var ir = 0; ir < mergeSize; ir++)
                    {
                        for (var ic = 0; ic < mergeSize; ic++)
                        {
                            ids[2 * n] = (br * mergeSize) + ir;
                            ids[(2 * n) + 1] = (bc * mergeSize) + ic;
                            n++;
                        }
                    }
                }
            }
        }

        return ids;
    }

    /// <summary>The rotary angles of every patch in merge-unit order, fp32. // [N, head_dim / 2]</summary>
    public static torch.Tensor Angles(GridThw grid, int headDim, int mergeSize, torch.Device device)
    {
        using var scope = torch.NewDisposeScope();
        var dim = headDim / 2;
        // Scalars held until the end of the method (see RmsNorm: a temporary Scalar may be finalised mid-call).
        using Scalar start = 0, stop = dim, step = 2, divisor = dim;
        var exponents = torch.arange(start, stop, step, dtype: torch.ScalarType.Int64, device: device).to(torch.ScalarType.Float32) / divisor; // [dim/2]
        var theta = torch.tensor(Theta, device: device); // [] float64; a 0-d operand leaves the result fp32
        var invFreq = torch.pow(theta, exponents).reciprocal(); // [dim/2]
        var rowCol = torch.tensor(PatchRowCol(grid, mergeSize), [grid.PatchCount, 2], device: device); // [N, 2]
        var angles = rowCol.to(torch.ScalarType.Float32).unsqueeze(-1) * invFreq; // [N, 2, dim/2]
        return angles.reshape(grid.PatchCount, dim).MoveToOuterDisposeScope();
    }
}
