using TorchSharp;

namespace StarKv.GpuWorker.Model.Layers;

/// <summary>
/// Takes named tensors out of a checkpoint's weights dictionary, checks their shapes and copies them onto the
/// model's device and dtype. Names follow Hugging Face's Qwen2.5-VL checkpoints (<c>visual.*</c>,
/// <c>model.layers.*</c>, <c>lm_head.weight</c>); the newer layout (<c>model.visual.*</c>,
/// <c>model.language_model.*</c>) is accepted as well. The copies are detached from any dispose scope.
/// </summary>
public sealed class WeightReader
{
    private readonly IReadOnlyDictionary<string, torch.Tensor> _weights;

    public WeightReader(IReadOnlyDictionary<string, torch.Tensor> weights, torch.Device device, torch.ScalarType dtype)
    {
        ArgumentNullException.ThrowIfNull(weights);
        ArgumentNullException.ThrowIfNull(device);
        _weights = weights;
        Device = device;
        DType = dtype;
    }

    public torch.Device Device { get; }

    public torch.ScalarType DType { get; }

    public bool Contains(string name) => Find(name) is not null;

    /// <summary>The tensor <paramref name="name"/>, which must have exactly <paramref name="shape"/>.</summary>
    public torch.Tensor Take(string name, params long[] shape)
    {
        var tensor = Find(name) ?? throw new ModelWeightsException($"Missing weight '{name}' (expected shape [{string.Join(", ", shape)}]).");
        if (!tensor.shape.SequenceEqual(shape))
        {
            throw new ModelWeightsException($"Weight '{name}' has shape [{string.Join(", ", tensor.shape)}]; expected [{string.Join(", ", shape)}].");
        }

        if (!tensor.is_floating_point())
        {
            throw new ModelWeightsException($"Weight '{name}' has dtype {tensor.dtype}; expected a floating dtype.");
        }

        return tensor.to(DType, Device, copy: true).DetachFromDisposeScope();
    }

    private torch.Tensor? Find(string name)
    {
        if (_weights.TryGetValue(name, out var tensor))
        {
            return tensor;
        }

        var alternative = name.StartsWith("visual.", StringComparison.Ordinal) ? "model." + name
            : name.StartsWith("model.", StringComparison.Ordinal) ? "model.language_model." + name["model.".Length..]
            : null;
        return alternative is not null && _weights.TryGetValue(alternative, out var other) ? other : null;
    }
}
