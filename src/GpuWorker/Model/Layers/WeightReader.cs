using TorchSharp;

namespace StarKv.GpuWorker.Model.Layers;

/// <summary>
/// Takes named tensors out of a checkpoint's weights dictionary, checks their shapes and copies them onto the
/// model's device and dtype. Names follow Hugging Face's Qwen2.5-VL checkpoints (<c>visual.*</c>,
/// <c>model.layers.*</c>, <c>lm_head.weight</c>); the newer layout (<c>model.visual.*</c>,
/// <c>model.language_model.*</c>) is accepted as well. The copies are detached from any dispose scope.
/// <para>
/// A trainable reader makes every copy a leaf that requires gradients and records it under its canonical
/// name with its checkpoint shape (<see cref="Taken"/>), so that a trainer can optimise exactly the tensors the
/// model computes with and write them back as a checkpoint.
/// </para>
/// </summary>
public sealed class WeightReader
{
    private readonly IReadOnlyDictionary<string, torch.Tensor> _weights;

    private readonly List<TakenWeight> _taken = [];

    public WeightReader(IReadOnlyDictionary<string, torch.Tensor> weights, torch.Device device, torch.ScalarType dtype, bool trainable = false)
    {
        ArgumentNullException.ThrowIfNull(weights);
        ArgumentNullException.ThrowIfNull(device);
        _weights = weights;
        Device = device;
        DType = dtype;
        Trainable = trainable;
    }

    /// <summary>Whether the weights taken are leaves that require gradients.</summary>
    public bool Trainable { get; }

    /// <summary>Every weight taken so far, in order, with its canonical name and checkpoint shape.</summary>
    public IReadOnlyList<TakenWeight> Taken => _taken;

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

        return Track(name, shape, tensor.to(DType, Device, copy: true).DetachFromDisposeScope());
    }

    /// <summary>
    /// The tensor <paramref name="name"/> of checkpoint shape <paramref name="shape"/>, reshaped to
    /// <paramref name="modelShape"/> (for example a Conv3d kernel used as a matmul); when trainable, the reshaped
    /// tensor is the leaf.
    /// </summary>
    public torch.Tensor TakeReshaped(string name, long[] shape, params long[] modelShape)
    {
        ArgumentNullException.ThrowIfNull(shape);
        var tensor = Find(name) ?? throw new ModelWeightsException($"Missing weight '{name}' (expected shape [{string.Join(", ", shape)}]).");
        if (!tensor.shape.SequenceEqual(shape))
        {
            throw new ModelWeightsException($"Weight '{name}' has shape [{string.Join(", ", tensor.shape)}]; expected [{string.Join(", ", shape)}].");
        }

        if (!tensor.is_floating_point())
        {
            throw new ModelWeightsException($"Weight '{name}' has dtype {tensor.dtype}; expected a floating dtype.");
        }

        using var scope = torch.NewDisposeScope();
        var reshaped = tensor.to(DType, Device, copy: true).reshape(modelShape).contiguous().DetachFromDisposeScope();
        return Track(name, shape, reshaped);
    }

    private torch.Tensor Track(string name, long[] shape, torch.Tensor tensor)
    {
        if (Trainable)
        {
            tensor.requires_grad_(true);
        }

        _taken.Add(new TakenWeight(name, shape, tensor));
        return tensor;
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

/// <summary>A weight as the model holds it: its canonical checkpoint name and shape, and the model's tensor.</summary>
/// <param name="Name">The canonical Hugging Face name (<c>visual.*</c>, <c>model.*</c>, <c>lm_head.weight</c>).</param>
/// <param name="CheckpointShape">The shape the checkpoint stores.</param>
/// <param name="Tensor">The model's tensor (owned by the model; possibly reshaped from the checkpoint's).</param>
public sealed record TakenWeight(string Name, IReadOnlyList<long> CheckpointShape, torch.Tensor Tensor);
