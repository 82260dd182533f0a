using StarKv.GpuWorker.Model.Layers;

namespace StarKv.GpuWorker.Model.Text;

/// <summary>One Qwen2 decoder layer: <c>x + attn(norm₁(x))</c>, then <c>+ mlp(norm₂(·))</c>.</summary>
public sealed class DecoderLayer : IDisposable
{
    public DecoderLayer(RmsNorm inputNorm, TextAttention attention, RmsNorm postAttentionNorm, SwiGluMlp mlp)
    {
        InputNorm = inputNorm;
        Attention = attention;
        PostAttentionNorm = postAttentionNorm;
        Mlp = mlp;
    }

    public RmsNorm InputNorm { get; }

    public TextAttention Attention { get; }

    public RmsNorm PostAttentionNorm { get; }

    public SwiGluMlp Mlp { get; }

    public static DecoderLayer Load(WeightReader weights, int index, TextConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        var prefix = $"model.layers.{index}";
        return new DecoderLayer(
            RmsNorm.Load(weights, $"{prefix}.input_layernorm.weight", config.HiddenSize, config.RmsNormEps),
            TextAttention.Load(weights, $"{prefix}.self_attn", config),
            RmsNorm.Load(weights, $"{prefix}.post_attention_layernorm.weight", config.HiddenSize, config.RmsNormEps),
            SwiGluMlp.Load(weights, $"{prefix}.mlp", config.HiddenSize, config.IntermediateSize, bias: false));
    }

    public void Dispose()
    {
        InputNorm.Dispose();
        Attention.Dispose();
        PostAttentionNorm.Dispose();
        Mlp.Dispose();
    }
}
