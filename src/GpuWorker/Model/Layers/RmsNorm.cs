using TorchSharp;

namespace StarKv.GpuWorker.Model.Layers;

/// <summary>
/// Root-mean-square normalisation as Qwen2's: <c>y = w ⊙ (x / √(mean(x²) + ε))</c>, the statistic computed in
/// fp32 and the normalised value cast back to the input dtype before the weight multiplies it.
/// </summary>
public sealed class RmsNorm : IDisposable
{
    private readonly torch.Tensor _weight; // [hidden]

    // Held for the norm's lifetime: TorchSharp passes a Scalar's native handle without keeping the Scalar alive, so
    // a temporary Scalar (an implicit conversion in an expression) can be finalised while the native call uses it.
    private readonly Scalar _eps;

    public RmsNorm(torch.Tensor weight, double eps)
    {
        _weight = weight;
        Eps = eps;
        _eps = eps.ToScalar();
    }

    public double Eps { get; }

    public static RmsNorm Load(WeightReader weights, string name, long hidden, double eps) =>
        new(weights.Take(name, hidden), eps);

    /// <param name="x">// [..., hidden]</param>
    public torch.Tensor Forward(torch.Tensor x)
    {
        using var scope = torch.NewDisposeScope();
        var xf = x.to(torch.ScalarType.Float32); // [..., hidden]
        var variance = xf.square().mean([-1], keepdim: true); // [..., 1]
        var normed = (xf * variance.add(_eps).rsqrt()).to(x.dtype); // [..., hidden]
        return (_weight * normed).MoveToOuterDisposeScope();
    }

    public void Dispose()
    {
        _weight.Dispose();
        _eps.Dispose();
    }
}
