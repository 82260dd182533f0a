using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using StarKv.GpuWorker.Images;

namespace StarKv.GpuWorker.Model;

/// <summary>The language model's part of a Qwen2.5-VL <c>config.json</c>.</summary>
public sealed record TextConfig
{
    public required int HiddenSize { get; init; }
    public required int NumHiddenLayers { get; init; }
    public required int NumAttentionHeads { get; init; }
    public required int NumKeyValueHeads { get; init; }
    public required int IntermediateSize { get; init; }
    public required double RmsNormEps { get; init; }
    public required double RopeTheta { get; init; }
    /// <summary>Rotary frequency pairs given to the temporal, height and width position ids; sums to HeadDim / 2.</summary>
    public required IReadOnlyList<int> MropeSection { get; init; }
    public required int VocabSize { get; init; }
    public required bool TieWordEmbeddings { get; init; }

    public int HeadDim => HiddenSize / NumAttentionHeads;
}

/// <summary>The vision encoder's part of a Qwen2.5-VL <c>config.json</c>.</summary>
public sealed record VisionConfig
{
    public required int Depth { get; init; }
    public required int HiddenSize { get; init; }
    public required int NumHeads { get; init; }
    public required int IntermediateSize { get; init; }
    public required int InChannels { get; init; }
    public required int PatchSize { get; init; }
    public required int TemporalPatchSize { get; init; }
    public required int SpatialMergeSize { get; init; }
    public required int WindowSize { get; init; }
    public required IReadOnlyList<int> FullAttentionBlockIndexes { get; init; }
    public required int OutHiddenSize { get; init; }

    public int HeadDim => HiddenSize / NumHeads;
}

/// <summary>The token ids the model gives a meaning to.</summary>
public sealed record SpecialTokenIds
{
    public required int BosTokenId { get; init; }

    /// <summary>
    /// <c>config.json</c>'s <c>eos_token_id</c>: one id or a list, as Hugging Face accepts (Qwen2.5-VL checkpoints name
    /// <c>&lt;|im_end|&gt;</c>, <c>&lt;|endoftext|&gt;</c> or both).
    /// </summary>
    public required IReadOnlyList<int> EosTokenIds { get; init; }

    public required int VisionStartTokenId { get; init; }
    public required int VisionEndTokenId { get; init; }
    public required int ImageTokenId { get; init; }
    public required int VideoTokenId { get; init; }
}

/// <summary>What the runtime follows of a checkpoint's <c>generation_config.json</c>.</summary>
public sealed record GenerationSettings
{
    /// <summary>No <c>generation_config.json</c>, or one without <c>eos_token_id</c>.</summary>
    public static GenerationSettings None { get; } = new();

    /// <summary>Its <c>eos_token_id</c> (one id or a list); empty when it names none.</summary>
    public IReadOnlyList<int> EosTokenIds { get; init; } = [];
}

/// <summary>The image processor's <c>preprocessor_config.json</c>.</summary>
public sealed record ImageProcessorConfig
{
    public required IReadOnlyList<double> ImageMean { get; init; }
    public required IReadOnlyList<double> ImageStd { get; init; }
    public required int MinPixels { get; init; }
    public required int MaxPixels { get; init; }
    public required int PatchSize { get; init; }
    public required int TemporalPatchSize { get; init; }
    public required int MergeSize { get; init; }

    /// <summary>
    /// What becomes of a transparent screenshot's alpha: dropped, as Hugging Face's processor does (the default, not
    /// part of <c>preprocessor_config.json</c>), or composited onto white as qwen-vl-utils does.
    /// </summary>
    public AlphaHandling Alpha { get; init; } = AlphaHandling.Drop;

    /// <summary>Qwen2-VL's published processor defaults: CLIP mean and std, 56·56 to 28·28·1280 pixels.</summary>
    public static ImageProcessorConfig Default { get; } = new()
    {
        ImageMean = [0.48145466, 0.4578275, 0.40821073],
        ImageStd = [0.26862954, 0.26130258, 0.27577711],
        MinPixels = 56 * 56,
        MaxPixels = 28 * 28 * 1280,
        PatchSize = 14,
        TemporalPatchSize = 2,
        MergeSize = 2,
    };
}

/// <summary>
/// A Qwen2.5-VL model's configuration (UI-TARS-1.5 is one), read from a Hugging Face checkpoint folder's
/// <c>config.json</c>, <c>preprocessor_config.json</c> and <c>generation_config.json</c>. Both the flat layout and the
/// newer one with a nested <c>text_config</c> are read. Any other architecture is refused.
/// </summary>
public sealed record Qwen25VlConfig
{
    public const string Architecture = "Qwen2_5_VLForConditionalGeneration";
    public const string ModelType = "qwen2_5_vl";

    public required TextConfig Text { get; init; }
    public required VisionConfig Vision { get; init; }
    public required SpecialTokenIds Tokens { get; init; }
    public required ImageProcessorConfig Image { get; init; }

    /// <summary>The end tokens of <c>generation_config.json</c>; <see cref="GenerationSettings.None"/> without one.</summary>
    public GenerationSettings Generation { get; init; } = GenerationSettings.None;

    /// <summary>
    /// Every end-of-sequence id the checkpoint names, <c>config.json</c>'s then <c>generation_config.json</c>'s, each
    /// once: decoding stops at any of them.
    /// </summary>
    public IReadOnlyList<int> EndTokenIds => Tokens.EosTokenIds.Concat(Generation.EosTokenIds).Distinct().ToList();

    /// <summary>The dtype the checkpoint was saved in (<c>torch_dtype</c>), for example "bfloat16".</summary>
    public string TorchDtype { get; init; } = "float32";

    /// <summary>
    /// A stable hash of every field that shapes the model's computation; a checkpoint of a session carries it
    /// so that restoring into another model is refused.
    /// </summary>
    public string Fingerprint()
    {
        var canonical = JsonSerializer.Serialize(new { Text, Vision, Tokens, Image, Generation });
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(canonical)))[..16];
    }

    public static Qwen25VlConfig LoadFromFolder(string folder)
    {
        var configPath = Path.Combine(folder, "config.json");
        if (!File.Exists(configPath))
        {
            throw new ModelConfigException($"No config.json in model folder '{folder}'.");
        }

        var preprocessorPath = Path.Combine(folder, "preprocessor_config.json");
        var image = File.Exists(preprocessorPath)
            ? ParseImageProcessor(File.ReadAllText(preprocessorPath))
            : ImageProcessorConfig.Default;
        var generationPath = Path.Combine(folder, "generation_config.json");
        var generation = File.Exists(generationPath)
            ? ParseGeneration(File.ReadAllText(generationPath))
            : GenerationSettings.None;
        var config = Parse(File.ReadAllText(configPath)) with { Image = image, Generation = generation };
        config.Validate();
        return config;
    }

    /// <summary>Parses a <c>generation_config.json</c> for its end tokens.</summary>
    public static GenerationSettings ParseGeneration(string json)
    {
        JsonObject root;
        try
        {
            root = JsonNode.Parse(json)?.AsObject() ?? throw new ModelConfigException("generation_config.json is empty.");
        }
        catch (JsonException e)
        {
            throw new ModelConfigException($"generation_config.json is not valid JSON: {e.Message}", e);
        }

        return new GenerationSettings { EosTokenIds = TokenIds(root, "eos_token_id", "generation_config.json") ?? [] };
    }

    /// <summary>Parses a <c>config.json</c>; the image processor settings are the defaults.</summary>
    public static Qwen25VlConfig Parse(string configJson)
    {
        JsonObject root;
        try
        {
            root = JsonNode.Parse(configJson)?.AsObject() ?? throw new ModelConfigException("config.json is empty.");
        }
        catch (JsonException e)
        {
            throw new ModelConfigException($"config.json is not valid JSON: {e.Message}", e);
        }

        var architectures = root["architectures"]?.AsArray().Select(a => a?.GetValue<string>()).ToList() ?? [];
        var modelType = root["model_type"]?.GetValue<string>();
        if (!architectures.Contains(Architecture) && modelType != ModelType)
        {
            var found = architectures.Count > 0 ? string.Join(", ", architectures) : modelType ?? "none";
            throw new ModelConfigException($"Unsupported architecture '{found}': this runtime serves {Architecture} (model_type {ModelType}) only.");
        }

        // transformers ≥ 4.52 nests the language model's fields under text_config; older files keep them flat.
        var text = root["text_config"]?.AsObject() ?? root;
        var vision = root["vision_config"]?.AsObject() ?? throw new ModelConfigException("config.json has no vision_config.");
        // transformers 5 moves rope_theta and mrope_section into rope_parameters.
        var ropeScaling = (text["rope_scaling"] ?? root["rope_scaling"] ?? text["rope_parameters"] ?? root["rope_parameters"])?.AsObject();
        var mropeSection = ropeScaling?["mrope_section"]?.AsArray().Select(n => n!.GetValue<int>()).ToArray()
            ?? throw new ModelConfigException("config.json has no rope_scaling.mrope_section.");
        var ropeHolder = text["rope_theta"] is not null || ropeScaling?["rope_theta"] is null ? text : ropeScaling;

        var textConfig = new TextConfig
        {
            HiddenSize = Int(text, "hidden_size"),
            NumHiddenLayers = Int(text, "num_hidden_layers"),
            NumAttentionHeads = Int(text, "num_attention_heads"),
            NumKeyValueHeads = Int(text, "num_key_value_heads"),
            IntermediateSize = Int(text, "intermediate_size"),
            RmsNormEps = Double(text, "rms_norm_eps"),
            RopeTheta = Double(ropeHolder, "rope_theta"),
            MropeSection = mropeSection,
            VocabSize = Int(text, "vocab_size"),
            TieWordEmbeddings = (text["tie_word_embeddings"] ?? root["tie_word_embeddings"])?.GetValue<bool>() ?? false,
        };
        var visionConfig = new VisionConfig
        {
            Depth = Int(vision, "depth"),
            HiddenSize = Int(vision, "hidden_size"),
            NumHeads = Int(vision, "num_heads"),
            IntermediateSize = Int(vision, "intermediate_size"),
            InChannels = IntOr(vision, "in_chans", IntOr(vision, "in_channels", 3)),
            PatchSize = IntOr(vision, "patch_size", IntOr(vision, "spatial_patch_size", 14)),
            TemporalPatchSize = IntOr(vision, "temporal_patch_size", 2),
            SpatialMergeSize = IntOr(vision, "spatial_merge_size", 2),
            WindowSize = IntOr(vision, "window_size", 112),
            FullAttentionBlockIndexes = vision["fullatt_block_indexes"]?.AsArray().Select(n => n!.GetValue<int>()).ToArray() ?? [],
            OutHiddenSize = IntOr(vision, "out_hidden_size", textConfig.HiddenSize),
        };
        var tokens = new SpecialTokenIds
        {
            BosTokenId = IntOr(root, "bos_token_id", IntOr(text, "bos_token_id", 151643)),
            EosTokenIds = TokenIds(root, "eos_token_id", "config.json") ?? TokenIds(text, "eos_token_id", "config.json") ?? [151645],
            VisionStartTokenId = IntOr(root, "vision_start_token_id", IntOr(text, "vision_start_token_id", 151652)),
            VisionEndTokenId = IntOr(root, "vision_end_token_id", IntOr(text, "vision_end_token_id", 151653)),
            ImageTokenId = IntOr(root, "image_token_id", IntOr(text, "image_token_id", 151655)),
            VideoTokenId = IntOr(root, "video_token_id", IntOr(text, "video_token_id", 151656)),
        };

        var config = new Qwen25VlConfig
        {
            Text = textConfig,
            Vision = visionConfig,
            Tokens = tokens,
            Image = ImageProcessorConfig.Default,
            TorchDtype = (root["torch_dtype"] ?? text["torch_dtype"] ?? root["dtype"] ?? text["dtype"])?.GetValue<string>() ?? "float32",
        };
        config.Validate();
        return config;
    }

    public static ImageProcessorConfig ParseImageProcessor(string json)
    {
        JsonObject root;
        try
        {
            root = JsonNode.Parse(json)?.AsObject() ?? throw new ModelConfigException("preprocessor_config.json is empty.");
        }
        catch (JsonException e)
        {
            throw new ModelConfigException($"preprocessor_config.json is not valid JSON: {e.Message}", e);
        }

        var defaults = ImageProcessorConfig.Default;
        var size = root["size"]?.AsObject();
        return new ImageProcessorConfig
        {
            ImageMean = root["image_mean"]?.AsArray().Select(n => n!.GetValue<double>()).ToArray() ?? defaults.ImageMean,
            ImageStd = root["image_std"]?.AsArray().Select(n => n!.GetValue<double>()).ToArray() ?? defaults.ImageStd,
            MinPixels = IntOr(root, "min_pixels", size is null ? defaults.MinPixels : IntOr(size, "shortest_edge", defaults.MinPixels)),
            MaxPixels = IntOr(root, "max_pixels", size is null ? defaults.MaxPixels : IntOr(size, "longest_edge", defaults.MaxPixels)),
            PatchSize = IntOr(root, "patch_size", defaults.PatchSize),
            TemporalPatchSize = IntOr(root, "temporal_patch_size", defaults.TemporalPatchSize),
            MergeSize = IntOr(root, "merge_size", defaults.MergeSize),
        };
    }

    /// <summary>Writes this configuration as Hugging Face's flat <c>config.json</c> layout.</summary>
    public string ToConfigJson()
    {
        var root = new JsonObject
        {
            ["architectures"] = new JsonArray(Architecture),
            ["model_type"] = ModelType,
            ["hidden_act"] = "silu",
            ["hidden_size"] = Text.HiddenSize,
            ["num_hidden_layers"] = Text.NumHiddenLayers,
            ["num_attention_heads"] = Text.NumAttentionHeads,
            ["num_key_value_heads"] = Text.NumKeyValueHeads,
            ["intermediate_size"] = Text.IntermediateSize,
            ["rms_norm_eps"] = Text.RmsNormEps,
            ["rope_theta"] = Text.RopeTheta,
            ["rope_scaling"] = new JsonObject { ["type"] = "mrope", ["mrope_section"] = new JsonArray(Text.MropeSection.Select(v => (JsonNode)v).ToArray()) },
            ["vocab_size"] = Text.VocabSize,
            ["tie_word_embeddings"] = Text.TieWordEmbeddings,
            ["torch_dtype"] = TorchDtype,
            ["bos_token_id"] = Tokens.BosTokenId,
            ["eos_token_id"] = TokenIdsNode(Tokens.EosTokenIds),
            ["vision_start_token_id"] = Tokens.VisionStartTokenId,
            ["vision_end_token_id"] = Tokens.VisionEndTokenId,
            ["image_token_id"] = Tokens.ImageTokenId,
            ["video_token_id"] = Tokens.VideoTokenId,
            ["vision_config"] = new JsonObject
            {
                ["depth"] = Vision.Depth,
                ["hidden_act"] = "silu",
                ["hidden_size"] = Vision.HiddenSize,
                ["num_heads"] = Vision.NumHeads,
                ["intermediate_size"] = Vision.IntermediateSize,
                ["in_chans"] = Vision.InChannels,
                ["patch_size"] = Vision.PatchSize,
                ["temporal_patch_size"] = Vision.TemporalPatchSize,
                ["spatial_merge_size"] = Vision.SpatialMergeSize,
                ["window_size"] = Vision.WindowSize,
                ["fullatt_block_indexes"] = new JsonArray(Vision.FullAttentionBlockIndexes.Select(v => (JsonNode)v).ToArray()),
                ["out_hidden_size"] = Vision.OutHiddenSize,
            },
        };
        return root.ToJsonString(new JsonSerializerOptions { WriteIndented = true });
    }

    /// <summary>Writes the generation settings as Hugging Face's <c>generation_config.json</c>.</summary>
    public string ToGenerationJson()
    {
        var root = new JsonObject { ["bos_token_id"] = Tokens.BosTokenId };
        if (Generation.EosTokenIds.Count > 0)
        {
            root["eos_token_id"] = TokenIdsNode(Generation.EosTokenIds);
        }

        root["pad_token_id"] = Tokens.BosTokenId;
        root["do_sample"] = false;
        return root.ToJsonString(new JsonSerializerOptions { WriteIndented = true });
    }

    /// <summary>Writes the image processor settings as Hugging Face's <c>preprocessor_config.json</c>.</summary>
    public string ToPreprocessorJson()
    {
        var root = new JsonObject
        {
            ["image_processor_type"] = "Qwen2VLImageProcessor",
            ["processor_class"] = "Qwen2_5_VLProcessor",
            ["image_mean"] = new JsonArray(Image.ImageMean.Select(v => (JsonNode)v).ToArray()),
            ["image_std"] = new JsonArray(Image.ImageStd.Select(v => (JsonNode)v).ToArray()),
            ["min_pixels"] = Image.MinPixels,
            ["max_pixels"] = Image.MaxPixels,
            ["patch_size"] = Image.PatchSize,
            ["temporal_patch_size"] = Image.TemporalPatchSize,
            ["merge_size"] = Image.MergeSize,
        };
        return root.ToJsonString(new JsonSerializerOptions { WriteIndented = true });
    }

    private void Validate()
    {
        var t = Text;
        if (Tokens.EosTokenIds.Count == 0)
        {
            throw new ModelConfigException("config.json's eos_token_id is an empty list; it must name at least one end token.");
        }

        var outside = EndTokenIds.Where(id => id < 0 || id >= t.VocabSize).ToList();
        if (outside.Count > 0)
        {
            throw new ModelConfigException(
                $"eos_token_id names {string.Join(", ", outside)}, outside the vocabulary (vocab_size {t.VocabSize}); config.json and generation_config.json must name token ids.");
        }

        if (t.HiddenSize % t.NumAttentionHeads != 0)
        {
            throw new ModelConfigException($"hidden_size {t.HiddenSize} is not a multiple of num_attention_heads {t.NumAttentionHeads}.");
        }

        if (t.NumAttentionHeads % t.NumKeyValueHeads != 0)
        {
            throw new ModelConfigException($"num_attention_heads {t.NumAttentionHeads} is not a multiple of num_key_value_heads {t.NumKeyValueHeads}.");
        }

        if (t.MropeSection.Count != 3 || t.MropeSection.Sum() * 2 != t.HeadDim)
        {
            throw new ModelConfigException($"mrope_section [{string.Join(", ", t.MropeSection)}] must have three parts summing to head_dim / 2 = {t.HeadDim / 2}.");
        }

        if (Vision.HiddenSize % Vision.NumHeads != 0)
        {
            throw new ModelConfigException($"vision hidden_size {Vision.HiddenSize} is not a multiple of num_heads {Vision.NumHeads}.");
        }

        var outOfRange = Vision.FullAttentionBlockIndexes.Where(i => i < 0 || i >= Vision.Depth).ToList();
        if (outOfRange.Count > 0)
        {
            throw new ModelConfigException($"fullatt_block_indexes [{string.Join(", ", outOfRange)}] lie outside the vision depth {Vision.Depth}.");
        }
    }

    private static int Int(JsonObject o, string name) =>
        o[name]?.GetValue<int>() ?? throw new ModelConfigException($"config.json lacks '{name}'.");

    /// <summary>
    /// A token-id field as Hugging Face accepts it: one integer or a list of integers; null when absent or null.
    /// Anything else (a token's text, a fraction) is refused naming the field and the file.
    /// </summary>
    private static List<int>? TokenIds(JsonObject o, string name, string file)
    {
        static int? AsId(JsonNode? node) =>
            node is JsonValue value && value.GetValueKind() == JsonValueKind.Number && value.TryGetValue<int>(out var id) ? id : null;

        switch (o[name])
        {
            case null:
                return null;
            case JsonArray list:
                var ids = list.Select(AsId).ToList();
                if (ids.Any(id => id is null))
                {
                    throw new ModelConfigException($"{file}'s {name} must list integer token ids, not {list.ToJsonString()}.");
                }

                return ids.Select(id => id!.Value).ToList();
            case var node:
                return AsId(node) is { } single
                    ? [single]
                    : throw new ModelConfigException($"{file}'s {name} must be an integer token id or a list of them, not {node.ToJsonString()}.");
        }
    }

    private static JsonNode TokenIdsNode(IReadOnlyList<int> ids) =>
        ids.Count == 1 ? JsonValue.Create(ids[0]) : new JsonArray(ids.Select(id => (JsonNode)id).ToArray());

    // A list (some configs give several ids) yields its first entry.
    private static int IntOr(JsonObject o, string name, int fallback) => o[name] switch
    {
        JsonArray { Count: > 0 } list => list[0]!.GetValue<int>(),
        JsonValue value => value.GetValue<int>(),
        _ => fallback,
    };

    private static double Double(JsonObject o, string name) =>
        o[name] is { } node
            ? node.GetValueKind() == JsonValueKind.String
                ? double.Parse(node.GetValue<string>(), CultureInfo.InvariantCulture)
                : node.GetValue<double>()
            : throw new ModelConfigException($"config.json lacks '{name}'.");
}

/// <summary>A model folder whose configuration cannot be served.</summary>
public sealed class ModelConfigException : Exception
{
    public ModelConfigException(string message) : base(message) { }

    public ModelConfigException(string message, Exception inner) : base(message, inner) { }

    public ModelConfigException() { }
}
