using StarKv.GpuWorker.Model;

namespace StarKv.GpuWorker.Checkpoints;

/// <summary>
/// The tensors of a Qwen2.5-VL checkpoint under their canonical names (Hugging Face's names in UI-TARS-1.5-7B's
/// checkpoint) and the shape each must have for a configuration. With vision hidden vh, vision MLP vi, merge m,
/// text hidden h, heads n, KV heads kv, head dim hd and MLP i:
/// <list type="bullet">
/// <item><c>visual.patch_embed.proj.weight</c> [vh, 3, 2, 14, 14] (a Conv3d without bias)</item>
/// <item><c>visual.blocks.{b}.norm1/norm2.weight</c> [vh]; <c>attn.qkv</c> [3vh, vh] + bias; <c>attn.proj</c> [vh, vh] + bias;
/// <c>mlp.gate_proj/up_proj</c> [vi, vh] + bias; <c>mlp.down_proj</c> [vh, vi] + bias</item>
/// <item><c>visual.merger.ln_q.weight</c> [vh]; <c>visual.merger.mlp.0</c> [m²vh, m²vh] + bias; <c>visual.merger.mlp.2</c> [out, m²vh] + bias</item>
/// <item><c>model.embed_tokens.weight</c> [vocab, h]; <c>model.layers.{l}.input_layernorm/post_attention_layernorm.weight</c> [h];
/// <c>self_attn.q_proj</c> [n·hd, h] + bias; <c>k_proj/v_proj</c> [kv·hd, h] + bias; <c>o_proj.weight</c> [h, n·hd];
/// <c>mlp.gate_proj/up_proj.weight</c> [i, h]; <c>mlp.down_proj.weight</c> [h, i]</item>
/// <item><c>model.norm.weight</c> [h]; <c>lm_head.weight</c> [vocab, h], absent when the embeddings are tied</item>
/// </list>
/// Newer checkpoints (transformers ≥ 4.52) name the same tensors <c>model.language_model.*</c> and
/// <c>model.visual.*</c>; <see cref="CanonicalName"/> maps them back.
/// </summary>
public static class Qwen25VlCheckpointLayout
{
    public const string LmHead = "lm_head.weight";
    public const string EmbedTokens = "model.embed_tokens.weight";

    private const string NewTextPrefix = "model.language_model.";
    private const string NewVisionPrefix = "model.visual.";

    /// <summary>Every tensor the model reads, by canonical name, with its shape.</summary>
    public static IReadOnlyDictionary<string, long[]> ExpectedShapes(Qwen25VlConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        var shapes = new Dictionary<string, long[]>(StringComparer.Ordinal);
        AddVision(shapes, config.Vision);
        AddText(shapes, config.Text);
        return shapes;
    }

    /// <summary>
    /// The canonical name of a checkpoint tensor name: <c>model.language_model.X</c> → <c>model.X</c>,
    /// <c>model.visual.X</c> → <c>visual.X</c>; canonical names are returned unchanged.
    /// </summary>
    public static string CanonicalName(string checkpointName)
    {
        ArgumentNullException.ThrowIfNull(checkpointName);
        if (checkpointName.StartsWith(NewTextPrefix, StringComparison.Ordinal))
        {
            return "model." + checkpointName[NewTextPrefix.Length..];
        }

        if (checkpointName.StartsWith(NewVisionPrefix, StringComparison.Ordinal))
        {
            return "visual." + checkpointName[NewVisionPrefix.Length..];
        }

        return checkpointName;
    }

    /// <summary>
    /// Compares the shapes a checkpoint holds (canonical names) with those <paramref name="config"/> requires.
    /// With tied embeddings a stored <c>lm_head.weight</c> of the right shape is tolerated (the model does not read it).
    /// </summary>
    /// <exception cref="CheckpointMismatchException">Some tensor is missing, unexpected or wrongly shaped.</exception>
    public static void Verify(string folder, Qwen25VlConfig config, IReadOnlyDictionary<string, IReadOnlyList<long>> found)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(found);
        var expected = ExpectedShapes(config);
        var missing = expected.Keys.Where(name => !found.ContainsKey(name)).OrderBy(n => n, StringComparer.Ordinal).ToList();
        var unexpected = new List<string>();
        var wrong = new List<TensorShapeMismatch>();
        foreach (var (name, shape) in found.OrderBy(f => f.Key, StringComparer.Ordinal))
        {
            if (expected.TryGetValue(name, out var want))
            {
                if (!want.SequenceEqual(shape))
                {
                    wrong.Add(new TensorShapeMismatch(name, want, shape));
                }
            }
            else if (IsTolerated(config, name, shape))
            {
                continue;
            }
            else
            {
                unexpected.Add(name);
            }
        }

        if (missing.Count > 0 || unexpected.Count > 0 || wrong.Count > 0)
        {
            throw new CheckpointMismatchException(folder, missing, unexpected, wrong);
        }
    }

    /// <summary>Whether a tensor outside <see cref="ExpectedShapes"/> may be present and ignored.</summary>
    public static bool IsTolerated(Qwen25VlConfig config, string name, IReadOnlyList<long> shape)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(shape);
        return config.Text.TieWordEmbeddings && name == LmHead
            && shape.SequenceEqual([config.Text.VocabSize, config.Text.HiddenSize]);
    }

    private static void AddVision(Dictionary<string, long[]> shapes, VisionConfig v)
    {
        long vh = v.HiddenSize;
        long vi = v.IntermediateSize;
        long merged = vh * v.SpatialMergeSize * v.SpatialMergeSize;
        shapes["visual.patch_embed.proj.weight"] = [vh, v.InChannels, v.TemporalPatchSize, v.PatchSize, v.PatchSize];
        for (var b = 0; b < v.Depth; b++)
        {
            var p = $"visual.blocks.{b}.";
            shapes[p + "norm1.weight"] = [vh];
            shapes[p + "norm2.weight"] = [vh];
            shapes[p + "attn.qkv.weight"] = [3 * vh, vh];
            shapes[p + "attn.qkv.bias"] = [3 * vh];
            shapes[p + "attn.proj.weight"] = [vh, vh];
            shapes[p + "attn.proj.bias"] = [vh];
            shapes[p + "mlp.gate_proj.weight"] = [vi, vh];
            shapes[p + "mlp.gate_proj.bias"] = [vi];
            shapes[p + "mlp.up_proj.weight"] = [vi, vh];
            shapes[p + "mlp.up_proj.bias"] = [vi];
            shapes[p + "mlp.down_proj.weight"] = [vh, vi];
            shapes[p + "mlp.down_proj.bias"] = [vh];
        }

        shapes["visual.merger.ln_q.weight"] = [vh];
        shapes["visual.merger.mlp.0.weight"] = [merged, merged];
        shapes["visual.merger.mlp.0.bias"] = [merged];
        shapes["visual.merger.mlp.2.weight"] = [v.OutHiddenSize, merged];
        shapes["visual.merger.mlp.2.bias"] = [v.OutHiddenSize];
    }

    private static void AddText(Dictionary<string, long[]> shapes, TextConfig t)
    {
        long h = t.HiddenSize;
        long q = (long)t.NumAttentionHeads * t.HeadDim;
        long kv = (long)t.NumKeyValueHeads * t.HeadDim;
        long i = t.IntermediateSize;
        shapes[EmbedTokens] = [t.VocabSize, h];
        for (var l = 0; l < t.NumHiddenLayers; l++)
        {
            var p = $"model.layers.{l}.";
            shapes[p + "input_layernorm.weight"] = [h];
            shapes[p + "post_attention_layernorm.weight"] = [h];
            shapes[p + "self_attn.q_proj.weight"] = [q, h];
            shapes[p + "self_attn.q_proj.bias"] = [q];
            shapes[p + "self_attn.k_proj.weight"] = [kv, h];
            shapes[p + "self_attn.k_proj.bias"] = [kv];
            shapes[p + "self_attn.v_proj.weight"] = [kv, h];
            shapes[p + "self_attn.v_proj.bias"] = [kv];
            shapes[p + "self_attn.o_proj.weight"] = [h, q];
            shapes[p + "mlp.gate_proj.weight"] = [i, h];
            shapes[p + "mlp.up_proj.weight"] = [i, h];
            shapes[p + "mlp.down_proj.weight"] = [h, i];
        }

        shapes["model.norm.weight"] = [h];
        if (!t.TieWordEmbeddings)
        {
            shapes[LmHead] = [t.VocabSize, h];
        }
    }
}
