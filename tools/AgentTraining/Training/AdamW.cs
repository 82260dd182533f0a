using StarKv.Compression.Tensors;
using TorchSharp;

namespace StarKv.AgentTraining.Training;

/// <summary>
/// AdamW (Loshchilov and Hutter) over named tensors, with decoupled weight decay on matrices only (not on norms,
/// biases or 1-D tensors), and global-norm gradient clipping. Its moments are named after the parameters, so a
/// training state can save and restore them.
/// </summary>
public sealed class AdamW : IDisposable
{
    private readonly IReadOnlyList<(string Name, torch.Tensor Tensor)> _parameters;
    private readonly Dictionary<string, (torch.Tensor M, torch.Tensor V)> _moments = new(StringComparer.Ordinal);

    public AdamW(IReadOnlyList<(string Name, torch.Tensor Tensor)> parameters, double beta1 = 0.9, double beta2 = 0.95, double eps = 1e-8, double weightDecay = 0.01)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        _parameters = parameters;
        Beta1 = beta1;
        Beta2 = beta2;
        Eps = eps;
        WeightDecay = weightDecay;
        foreach (var (name, tensor) in parameters)
        {
            _moments[name] = (torch.zeros_like(tensor).DetachFromDisposeScope(), torch.zeros_like(tensor).DetachFromDisposeScope());
        }
    }

    public double Beta1 { get; }

    public double Beta2 { get; }

    public double Eps { get; }

    public double WeightDecay { get; }

    /// <summary>Steps taken (the bias correction's t).</summary>
    public long Steps { get; set; }

    /// <summary>The moments by parameter name, for saving: <c>{name}.m</c> and <c>{name}.v</c>.</summary>
    public IEnumerable<(string Name, torch.Tensor Tensor)> State =>
        _moments.SelectMany(m => new[] { (m.Key + ".m", m.Value.M), (m.Key + ".v", m.Value.V) });

    /// <summary>Copies saved moments in (names as <see cref="State"/> gives them); a parameter the state does not know (a head added since) starts from zero moments.</summary>
    public void Load(IReadOnlyDictionary<string, torch.Tensor> saved, long steps)
    {
        ArgumentNullException.ThrowIfNull(saved);
        using var noGrad = torch.no_grad();
        foreach (var (name, (m, v)) in _moments)
        {
            if (saved.TryGetValue(name + ".m", out var savedM) && saved.TryGetValue(name + ".v", out var savedV))
            {
                m.copy_(savedM);
                v.copy_(savedV);
            }
        }

        Steps = steps;
    }

    /// <summary>Clips the gradients to <paramref name="maxNorm"/> (global L2 norm), takes one step at <paramref name="learningRate"/>, zeroes the gradients; returns the norm before clipping.</summary>
    public double Step(double learningRate, double maxNorm)
    {
        using var noGrad = torch.no_grad();
        using var scope = torch.NewDisposeScope();
        using var scalars = new HeldScalars();
        var squares = _parameters.Where(p => p.Tensor.grad is not null).Select(p => p.Tensor.grad!.square().sum()).ToList();
        var norm = squares.Count == 0 ? 0 : Math.Sqrt(torch.stack(squares).sum().item<float>());
        var clip = norm > maxNorm ? maxNorm / (norm + 1e-6) : 1.0;
        Steps++;
        var correction1 = 1 - Math.Pow(Beta1, Steps);
        var correction2 = 1 - Math.Pow(Beta2, Steps);
        Scalar beta1 = scalars[Beta1], keep1 = scalars[1 - Beta1], beta2 = scalars[Beta2], keep2 = scalars[1 - Beta2];
        Scalar decay = scalars[1 - (learningRate * WeightDecay)], eps = scalars[Eps], unbias2 = scalars[correction2];
        Scalar stepSize = scalars[-learningRate / correction1], clipScale = scalars[clip];
        foreach (var (name, p) in _parameters)
        {
            var grad = p.grad;
            if (grad is null)
            {
                continue;
            }

            var (m, v) = _moments[name];
            var g = grad.mul(clipScale);
            m.mul_(beta1).add_(g, alpha: keep1);
            v.mul_(beta2).addcmul_(g, g, value: keep2);
            if (p.dim() >= 2 && WeightDecay > 0)
            {
                p.mul_(decay);
            }

            var denominator = v.div(unbias2).sqrt_().add_(eps);
            p.addcdiv_(m, denominator, value: stepSize);
            grad.zero_();
        }

        return norm;
    }

    public void Dispose()
    {
        foreach (var (m, v) in _moments.Values)
        {
            m.Dispose();
            v.Dispose();
        }
    }
}
