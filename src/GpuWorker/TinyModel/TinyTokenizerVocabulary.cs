namespace StarKv.GpuWorker.TinyModel;

/// <summary>The id plan of the tiny model's tokenizer: byte-level BPE tokens first, Qwen's added tokens at fixed ids.</summary>
public static class TinyTokenizerVocabulary
{
    /// <summary>256 byte tokens plus at most this many minus 256 merges.</summary>
    public const int MaxRegularTokens = 600;

    public const int FirstSpecialId = 600;

    /// <summary>Qwen2's added tokens in their published order (ids 151643… in the real vocabulary).</summary>
    public static IReadOnlyList<string> AddedTokens { get; } =
    [
        "<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|object_ref_start|>", "<|object_ref_end|>",
        "<|box_start|>", "<|box_end|>", "<|quad_start|>", "<|quad_end|>", "<|vision_start|>", "<|vision_end|>",
        "<|vision_pad|>", "<|image_pad|>", "<|video_pad|>", "<tool_call>", "</tool_call>", "<|fim_prefix|>",
        "<|fim_middle|>", "<|fim_suffix|>", "<|fim_pad|>", "<|repo_name|>", "<|file_sep|>",
    ];

    /// <summary>The tiny vocabulary's id of an added token.</summary>
    public static int SpecialId(string token)
    {
        for (var i = 0; i < AddedTokens.Count; i++)
        {
            if (AddedTokens[i] == token)
            {
                return FirstSpecialId + i;
            }
        }

        throw new ArgumentException($"'{token}' is not one of Qwen2's added tokens.", nameof(token));
    }
}
