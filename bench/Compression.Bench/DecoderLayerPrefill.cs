using System.Diagnostics;
using StarKv.Compression.Api;
using StarKv.GpuWorker.Cache;
using StarKv.GpuWorker.Model;
using StarKv.GpuWorker.Model.Layers;
using StarKv.GpuWorker.Model.Positions;
using StarKv.GpuWorker.Model.Text;
using TorchSharp;

namespace StarKv.Compression.Bench;

/// <summary>
/// The benchmark's denominator: one Qwen2.5-VL decoder layer of UI-TARS-1.5-7B's shapes (random weights, fp32) run by the
/// model's own code, <see cref="DecoderLayer"/> as <see cref="Qwen25VlModel"/> runs it: input RMSNorm, q/k/v projections
/// with bias, M-RoPE, the turn appended in place to a <see cref="LayerKvCache"/> that holds the history, grouped-query
/// causal attention over it (the fused attention, or the explicit one that also sums each entry's attention for H2O),
/// output projection, RMSNorm, SwiGLU MLP, residuals.
/// </summary>
public sealed class DecoderLayerPrefill : IDisposable
{
    private readonly TextConfig _config = new()
    {
        HiddenSize = SyntheticTrajectory.HiddenSize,
        NumHiddenLayers = 1,
        NumAttentionHeads = SyntheticTrajectory.Heads,
        NumKeyValueHeads = SyntheticTrajectory.KvHeads,
        IntermediateSize = SyntheticTrajectory.IntermediateSize,
        RmsNormEps = 1e-6,
        RopeTheta = 1_000_000,
        MropeSection = [16, 24, 24],
        VocabSize = 1,
        TieWordEmbeddings = true,
    };

    private readonly DecoderLayer _layer;

    public DecoderLayerPrefill()
    {
        using var scope = torch.NewDisposeScope();
        long h = _config.HiddenSize, kv = (long)_config.NumKeyValueHeads * _config.HeadDim, i = _config.IntermediateSize;
        var scale = 1 / Math.Sqrt(h);
        var weights = new Dictionary<string, torch.Tensor>(StringComparer.Ordinal)
        {
            ["model.layers.0.input_layernorm.weight"] = torch.ones(h),
            ["model.layers.0.self_attn.q_proj.weight"] = torch.randn(h, h).mul(scale), // [H·D, hidden]
            ["model.layers.0.self_attn.q_proj.bias"] = torch.zeros(h),
            ["model.layers.0.self_attn.k_proj.weight"] = torch.randn(kv, h).mul(scale), // [G·D, hidden]
            ["model.layers.0.self_attn.k_proj.bias"] = torch.zeros(kv),
            ["model.layers.0.self_attn.v_proj.weight"] = torch.randn(kv, h).mul(scale), // [G·D, hidden]
            ["model.layers.0.self_attn.v_proj.bias"] = torch.zeros(kv),
            ["model.layers.0.self_attn.o_proj.weight"] = torch.randn(h, h).mul(scale), // [hidden, H·D]
            ["model.layers.0.post_attention_layernorm.weight"] = torch.ones(h),
            ["model.layers.0.mlp.gate_proj.weight"] = torch.randn(i, h).mul(scale), // [intermediate, hidden]
            ["model.layers.0.mlp.up_proj.weight"] = torch.randn(i, h).mul(scale), // [intermediate, hidden]
            ["model.layers.0.mlp.down_proj.weight"] = torch.randn(h, i).mul(1 / Math.Sqrt(i)), // [hidden, intermediate]
        };
        _layer = DecoderLayer.Load(new WeightReader(weights, torch.CPU, torch.ScalarType.Float32), 0, _config);
    }

    /// <summary>
    /// Prefills <paramref name="newTokens"/> tokens on top of a cache holding the first L − T entries of
    /// <paramref name="historyKeys"/> (as keys and, flipped, values) and returns the milliseconds of the layer's forward.
    /// </summary>
    /// <param name="historyKeys">A layer's keys of the whole trajectory. // [G, L, D]</param>
    /// <param name="newTokens">T, the step's new tokens.</param>
    /// <param name="columnSums">Whether the attention also sums each entry's attention (what H2O scores with).</param>
    public double Run(torch.Tensor historyKeys, int newTokens, bool columnSums)
    {
        ArgumentNullException.ThrowIfNull(historyKeys);
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        long l = historyKeys.shape[1], past = l - newTokens;
        using var cache = new LayerKvCache(_config.NumKeyValueHeads, _config.HeadDim, torch.CPU, torch.ScalarType.Float32);
        cache.Reserve(l);
        var history = historyKeys.narrow(1, 0, past).to(torch.float32); // [G, L − T, D]
        cache.Append(history, history.flip(2), Enumerable.Range(0, (int)past).Select(j => TokenInfo.Text(j)).ToArray());
        var x = torch.randn(newTokens, _config.HiddenSize); // [T, hidden]
        using var positions = MropePositions.ForText(past, newTokens);
        var (cos, sin) = MropeRotary.CosSin(positions.Positions, _config.HeadDim, _config.RopeTheta, _config.MropeSection, torch.CPU, torch.ScalarType.Float32); // [T, D] each
        var tokens = Enumerable.Range((int)past, newTokens).Select(j => TokenInfo.Text(j)).ToArray();

        var watch = Stopwatch.StartNew();
        var (attention, _, _) = _layer.Attention.Forward(_layer.InputNorm.Forward(x), cos, sin, cache, tokens, columnSums);
        var h = x.add(attention); // [T, hidden]
        using var output = h.add(_layer.Mlp.Forward(_layer.PostAttentionNorm.Forward(h))); // [T, hidden]
        return watch.Elapsed.TotalMilliseconds;
    }

    public void Dispose() => _layer.Dispose();
}
