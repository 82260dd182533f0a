using TorchSharp;

namespace StarKv.GpuWorker.Model.Layers;

/// <summary>The gated MLP of Qwen2 and of the Qwen2.5-VL vision blocks: <c>down(silu(gate(x)) ⊙ up(x))</c>.</summary>
public sealed class SwiGluMlp : IDisposable
{
    private readonly torch.Tensor _gate; // [inter, hidden]
    private readonly torch.Tensor? _gateBias; // [inter]
    private readonly torch.Tensor _up; // [inter, hidden]
    private readonly torch.Tensor? _upBias; // [inter]
    private readonly torch.Tensor _down; // [hidden, inter]
    private readonly torch.Tensor? _downBias; // [hidden]

    public SwiGluMlp(torch.Tensor gate, torch.Tensor? gateBias, torch.Tensor up, torch.Tensor? upBias, torch.Tensor down, torch.Tensor? downBias)
    {
        _gate = gate;
        _gateBias = gateBias;
        _up = up;
        _upBias = upBias;
        _down = down;
        _downBias = downBias;
    }

    /// <summary>Reads <c>{prefix}.gate_proj</c>, <c>up_proj</c>, <c>down_proj</c> weights (and biases when <paramref name="bias"/>).</summary>
    public static SwiGluMlp Load(WeightReader weights, string prefix, long hidden, long intermediate, bool bias) => new(
        weights.Take($"{prefix}.gate_proj.weight", intermediate, hidden),
        bias ? weights.Take($"{prefix}.gate_proj.bias", intermediate) : null,
        weights.Take($"{prefix}.up_proj.weight", intermediate, hidden),
        bias ? weights.Take($"{prefix}.up_proj.bias", intermediate) : null,
        weights.Take($"{prefix}.down_proj.weight", hidden, intermediate),
        bias ? weights.Take($"{prefix}.down_proj.bias", hidden) : null);

    /// <param name="x">// [..., hidden]</param>
    public torch.Tensor Forward(torch.Tensor x)
    {
        using var scope = torch.NewDisposeScope();
        var gate = torch.nn.functional.linear(x, _gate, _gateBias); // [..., inter]
        var up = torch.nn.functional.linear(x, _up, _upBias); // [..., inter]
        var y = torch.nn.functional.linear(torch.nn.functional.silu(gate) * up, _down, _downBias); // [..., hidden]
        return y.MoveToOuterDisposeScope();
    }

    public void Dispose()
    {
        _gate.Dispose();
        _gateBias?.Dispose();
        _up.Dispose();
        _upBias?.Dispose();
        _down.Dispose();
        _downBias?.Dispose();
    }
}
