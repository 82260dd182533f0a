using StarKv.GpuWorker.Model.Layers;
using TorchSharp;

namespace StarKv.GpuWorker.Model.Vision;

/// <summary>One vision block: <c>x + attn(norm₁(x))</c>, then <c>+ mlp(norm₂(·))</c>, RMSNorm ε = 1e-6, SwiGLU with biases.</summary>
public sealed class VisionBlock : IDisposable
{
    public const double NormEps = 1e-6;

    public VisionBlock(RmsNorm norm1, VisionAttention attention, RmsNorm norm2, SwiGluMlp mlp)
    {
        Norm1 = norm1;
        Attention = attention;
        Norm2 = norm2;
        Mlp = mlp;
    }

    public RmsNorm Norm1 { get; }

    public VisionAttention Attention { get; }

    public RmsNorm Norm2 { get; }

    public SwiGluMlp Mlp { get; }

    public static VisionBlock Load(WeightReader weights, int index, VisionConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        var prefix = $"visual.blocks.{index}";
        return new VisionBlock(
            RmsNorm.Load(weights, $"{prefix}.norm1.weight", config.HiddenSize, NormEps),
            VisionAttention.Load(weights, $"{prefix}.attn", config.HiddenSize, config.NumHeads),
            RmsNorm.Load(weights, $"{prefix}.norm2.weight", config.HiddenSize, NormEps),
            SwiGluMlp.Load(weights, $"{prefix}.mlp", config.HiddenSize, config.IntermediateSize, bias: true));
    }

    /// <param name="x">// [N, vh]</param>
    /// <param name="cos">// [N, head_dim]</param>
    /// <param name="sin">// [N, head_dim]</param>
    /// <param name="cuSeqlens">Segment boundaries of the attention.</param>
    public torch.Tensor Forward(torch.Tensor x, torch.Tensor cos, torch.Tensor sin, IReadOnlyList<long> cuSeqlens)
    {
        using var scope = torch.NewDisposeScope();
        var h = x + Attention.Forward(Norm1.Forward(x), cos, sin, cuSeqlens); // [N, vh]
        return (h + Mlp.Forward(Norm2.Forward(h))).MoveToOuterDisposeScope();
    }

    public void Dispose()
    {
        Norm1.Dispose();
        Attention.Dispose();
        Norm2.Dispose();
        Mlp.Dispose();
    }
}
