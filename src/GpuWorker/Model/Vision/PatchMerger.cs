using StarKv.GpuWorker.Model.Layers;
using TorchSharp;

namespace StarKv.GpuWorker.Model.Vision;

/// <summary>
/// The 2×2 patch merger: RMSNorm (ε = 1e-6) over each patch, the m² consecutive patches of a merged cell
/// concatenated (<c>[N, vh] → [N/m², m²·vh]</c>), then <c>Linear(m²·vh, m²·vh)</c>, exact GELU,
/// <c>Linear(m²·vh, out_hidden)</c>.
/// </summary>
public sealed class PatchMerger : IDisposable
{
    private readonly torch.Tensor _fc1; // [m²·vh, m²·vh]
    private readonly torch.Tensor _fc1Bias; // [m²·vh]
    private readonly torch.Tensor _fc2; // [out, m²·vh]
    private readonly torch.Tensor _fc2Bias; // [out]

    public PatchMerger(RmsNorm norm, torch.Tensor fc1, torch.Tensor fc1Bias, torch.Tensor fc2, torch.Tensor fc2Bias)
    {
        Norm = norm;
        _fc1 = fc1;
        _fc1Bias = fc1Bias;
        _fc2 = fc2;
        _fc2Bias = fc2Bias;
    }

    public RmsNorm Norm { get; }

    public static PatchMerger Load(WeightReader weights, VisionConfig config)
    {
        ArgumentNullException.ThrowIfNull(weights);
        ArgumentNullException.ThrowIfNull(config);
        var merged = (long)config.HiddenSize * config.SpatialMergeSize * config.SpatialMergeSize;
        return new PatchMerger(
            RmsNorm.Load(weights, "visual.merger.ln_q.weight", config.HiddenSize, 1e-6),
            weights.Take("visual.merger.mlp.0.weight", merged, merged),
            weights.Take("visual.merger.mlp.0.bias", merged),
            weights.Take("visual.merger.mlp.2.weight", config.OutHiddenSize, merged),
            weights.Take("visual.merger.mlp.2.bias", config.OutHiddenSize));
    }

    /// <param name="x">Patches, the m² of each merged cell consecutive. // [N, vh]</param>
    /// <returns>// [N / m², out_hidden]</returns>
    public torch.Tensor Forward(torch.Tensor x)
    {
        ArgumentNullException.ThrowIfNull(x);
        using var scope = torch.NewDisposeScope();
        var merged = _fc1.shape[1];
        var cells = Norm.Forward(x).reshape(-1, merged); // [N/m², m²·vh]
        var hidden = torch.nn.functional.gelu(torch.nn.functional.linear(cells, _fc1, _fc1Bias)); // [N/m², m²·vh]
        return torch.nn.functional.linear(hidden, _fc2, _fc2Bias).MoveToOuterDisposeScope(); // [N/m², out]
    }

    public void Dispose()
    {
        Norm.Dispose();
        _fc1.Dispose();
        _fc1Bias.Dispose();
        _fc2.Dispose();
        _fc2Bias.Dispose();
    }
}
