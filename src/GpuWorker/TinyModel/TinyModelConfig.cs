using StarKv.GpuWorker.Model;

namespace StarKv.GpuWorker.TinyModel;

/// <summary>
/// The built-in tiny Qwen2.5-VL: the real architecture at toy sizes, fast on a CPU.
/// Vision: 2 blocks (block 1 full attention, block 0 windowed), hidden 32, 2 heads, MLP 64, 112-pixel windows
/// (4×4 merged cells, so windows are real), merger to 64. Text: 2 layers, hidden 64, 4 heads over 2 KV heads,
/// head dim 16 with <c>mrope_section</c> [2, 3, 3], MLP 128, untied LM head, vocabulary 640 (a byte-level BPE of
/// at most <see cref="TinyTokenizerVocabulary.MaxRegularTokens"/> tokens, then the Qwen specials from
/// <see cref="TinyTokenizerVocabulary.FirstSpecialId"/>). Images: 56·56 to 28·28·64 pixels, so one screenshot
/// is at most 64 visual tokens (256 patches).
/// </summary>
public static class TinyModelConfig
{
    public const int VocabSize = 640;

    /// <summary>At most 64 merged tokens (256 patches) per image.</summary>
    public const int MaxPixels = 28 * 28 * 64;

    public const int MinPixels = 56 * 56;

    public static Qwen25VlConfig Create() => new()
    {
        Text = new TextConfig
        {
            HiddenSize = 64,
            NumHiddenLayers = 2,
            NumAttentionHeads = 4,
            NumKeyValueHeads = 2,
            IntermediateSize = 128,
            RmsNormEps = 1e-6,
            RopeTheta = 1_000_000,
            MropeSection = [2, 3, 3],
            VocabSize = VocabSize,
            TieWordEmbeddings = false,
        },
        Vision = new VisionConfig
        {
            Depth = 2,
            HiddenSize = 32,
            NumHeads = 2,
            IntermediateSize = 64,
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
            BosTokenId = TinyTokenizerVocabulary.SpecialId("<|endoftext|>"),
            EosTokenIds = [TinyTokenizerVocabulary.SpecialId("<|im_end|>")],
            VisionStartTokenId = TinyTokenizerVocabulary.SpecialId("<|vision_start|>"),
            VisionEndTokenId = TinyTokenizerVocabulary.SpecialId("<|vision_end|>"),
            ImageTokenId = TinyTokenizerVocabulary.SpecialId("<|image_pad|>"),
            VideoTokenId = TinyTokenizerVocabulary.SpecialId("<|video_pad|>"),
        },
        Image = ImageProcessorConfig.Default with { MinPixels = MinPixels, MaxPixels = MaxPixels },
        // As Qwen2.5-VL checkpoints ship: config.json names <|im_end|>, generation_config.json both end tokens.
        Generation = new GenerationSettings
        {
            EosTokenIds = [TinyTokenizerVocabulary.SpecialId("<|im_end|>"), TinyTokenizerVocabulary.SpecialId("<|endoftext|>")],
        },
        TorchDtype = "float32",
    };
}
