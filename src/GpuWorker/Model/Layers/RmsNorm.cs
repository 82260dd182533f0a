using TorchSharp;

namespace StarKv.GpuWorker.Model.Layers;

/// <summary>
/// Root-mean-square normalisation as Qwen2's: <c>y = w ⊙ (x / √(mean(x²) + ε))</c>, the statistic computed in
/// fp32 and the normalised value cast back to the input dtype before the weight multiplies it.
/// </summary>
public sealed class RmsNorm : IDisposable
{
    private readonly torch.Tensor _weight; // [hidden]

    public RmsNorm(torch.Tensor weight, double eps)
    {
        _weight = weight;
        Eps = eps;
    }

    public double Eps { get; }

    public static RmsNorm Load(WeightReader weights, string name, long hidden, double eps) =>
        new(weights.Take(name, hidden), eps);

    /// <param name="x">// [..., hidden]</param>
    public torch.Tensor Forward(torch.Tensor x)
    {
        using var scope = torch.NewDisposeScope();
        var xf = x.to(torch.ScalarType.Float32); // [..., hidden]
        var variance = xf.pow(2).mean([-1], keepdim: true); // [..., 1]
        var normed = (xf * (variance + Eps).rsqrt()).to(x.dtype); // [..., hidden]
        return (_weight * normed).MoveToOuterDisposeScope();
    }

    public void Dispose() => _weight.Dispose();
}
