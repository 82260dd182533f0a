using StarKv.GpuWorker.Model;
using TorchSharp;

namespace StarKv.GpuWorker.Tests.Model;

/// <summary>A tiny Qwen2.5-VL configuration and seeded random weights named as Hugging Face's checkpoints.</summary>
internal static class TinyQwen
{
    public const int ImageToken = 124;
    public const int VisionStart = 122;
    public const int VisionEnd = 123;

    public static Qwen25VlConfig Config(bool tied = false) => new()
    {
        Text = new TextConfig
        {
            HiddenSize = 64,
            NumHiddenLayers = 2,
            NumAttentionHeads = 4,
            NumKeyValueHeads = 2,
            IntermediateSize = 96,
            RmsNormEps = 1e-6,
            RopeTheta = 10000,
            MropeSection = [2, 3, 3],
            VocabSize = 128,
            TieWordEmbeddings = tied,
        },
        Vision = new VisionConfig
        {
            Depth = 2,
            HiddenSize = 32,
            NumHeads = 2,
            IntermediateSize = 48,
            InChannels = 3,
            PatchSize = 14,
            TemporalPatchSize = 2,
            SpatialMergeSize = 2,
            WindowSize = 112,
            FullAttentionBlockIndexes = [1],
            OutHiddenSize = 64,
        },
        Tokens = new SpecialTokenIds
        {
            BosTokenId = 120,
            EosTokenIds = [121],
            VisionStartTokenId = VisionStart,
            VisionEndTokenId = VisionEnd,
            ImageTokenId = ImageToken,
            VideoTokenId = 125,
        },
        Image = ImageProcessorConfig.Default,
    };

    /// <summary>Every weight of the model, fp32 on the CPU, drawn from a seeded generator.</summary>
    public static Dictionary<string, torch.Tensor> Weights(Qwen25VlConfig config, int seed = 7)
    {
        var rng = new Random(seed);
        var w = new Dictionary<string, torch.Tensor>();
        var v = config.Vision;
        long vh = v.HiddenSize, vi = v.IntermediateSize, merged = vh * 4;
        w["visual.patch_embed.proj.weight"] = Random(rng, 0.05, vh, 3, 2, 14, 14);
        for (var i = 0; i < v.Depth; i++)
        {
            var p = $"visual.blocks.{i}";
            w[$"{p}.norm1.weight"] = Norm(rng, vh);
            w[$"{p}.norm2.weight"] = Norm(rng, vh);
            w[$"{p}.attn.qkv.weight"] = Random(rng, 0.2, 3 * vh, vh);
            w[$"{p}.attn.qkv.bias"] = Random(rng, 0.1, 3 * vh);
            w[$"{p}.attn.proj.weight"] = Random(rng, 0.2, vh, vh);
            w[$"{p}.attn.proj.bias"] = Random(rng, 0.1, vh);
            w[$"{p}.mlp.gate_proj.weight"] = Random(rng, 0.2, vi, vh);
            w[$"{p}.mlp.gate_proj.bias"] = Random(rng, 0.1, vi);
            w[$"{p}.mlp.up_proj.weight"] = Random(rng, 0.2, vi, vh);
            w[$"{p}.mlp.up_proj.bias"] = Random(rng, 0.1, vi);
            w[$"{p}.mlp.down_proj.weight"] = Random(rng, 0.2, vh, vi);
            w[$"{p}.mlp.down_proj.bias"] = Random(rng, 0.1, vh);
        }

        w["visual.merger.ln_q.weight"] = Norm(rng, vh);
        w["visual.merger.mlp.0.weight"] = Random(rng, 0.1, merged, merged);
        w["visual.merger.mlp.0.bias"] = Random(rng, 0.1, merged);
        w["visual.merger.mlp.2.weight"] = Random(rng, 0.1, v.OutHiddenSize, merged);
        w["visual.merger.mlp.2.bias"] = Random(rng, 0.1, v.OutHiddenSize);

        var t = config.Text;
        long h = t.HiddenSize, qOut = (long)t.NumAttentionHeads * t.HeadDim, kvOut = (long)t.NumKeyValueHeads * t.HeadDim, inter = t.IntermediateSize;
        w["model.embed_tokens.weight"] = Random(rng, 0.5, t.VocabSize, h);
        for (var i = 0; i < t.NumHiddenLayers; i++)
        {
            var p = $"model.layers.{i}";
            w[$"{p}.input_layernorm.weight"] = Norm(rng, h);
            w[$"{p}.post_attention_layernorm.weight"] = Norm(rng, h);
            w[$"{p}.self_attn.q_proj.weight"] = Random(rng, 0.15, qOut, h);
            w[$"{p}.self_attn.q_proj.bias"] = Random(rng, 0.1, qOut);
            w[$"{p}.self_attn.k_proj.weight"] = Random(rng, 0.15, kvOut, h);
            w[$"{p}.self_attn.k_proj.bias"] = Random(rng, 0.1, kvOut);
            w[$"{p}.self_attn.v_proj.weight"] = Random(rng, 0.15, kvOut, h);
            w[$"{p}.self_attn.v_proj.bias"] = Random(rng, 0.1, kvOut);
            w[$"{p}.self_attn.o_proj.weight"] = Random(rng, 0.15, h, qOut);
            w[$"{p}.mlp.gate_proj.weight"] = Random(rng, 0.15, inter, h);
            w[$"{p}.mlp.up_proj.weight"] = Random(rng, 0.15, inter, h);
            w[$"{p}.mlp.down_proj.weight"] = Random(rng, 0.15, h, inter);
        }

        w["model.norm.weight"] = Norm(rng, h);
        if (!t.TieWordEmbeddings)
        {
            w["lm_head.weight"] = Random(rng, 0.2, t.VocabSize, h);
        }

        return w;
    }

    public static void Dispose(Dictionary<string, torch.Tensor> weights)
    {
        foreach (var tensor in weights.Values)
        {
            tensor.Dispose();
        }
    }

    /// <summary>Uniform values in [−scale·√3, scale·√3] (standard deviation <paramref name="scale"/>).</summary>
    public static torch.Tensor Random(Random rng, double scale, params long[] shape)
    {
        var count = shape.Aggregate(1L, (a, b) => a * b);
        var data = new float[count];
        for (var i = 0; i < data.Length; i++)
        {
            data[i] = (float)(((rng.NextDouble() * 2) - 1) * scale * Math.Sqrt(3));
        }

        return torch.tensor(data, shape);
    }

    private static torch.Tensor Norm(Random rng, long size)
    {
        using var noise = Random(rng, 0.1, size);
        return noise + 1.0f;
    }
}
