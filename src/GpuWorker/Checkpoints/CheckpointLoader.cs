using StarKv.GpuWorker.Model;
using StarKv.GpuWorker.Text;
using TorchSharp;

namespace StarKv.GpuWorker.Checkpoints;

/// <summary>A loaded Qwen2.5-VL checkpoint: configuration, tokenizer and weights (by canonical name). Disposing frees the weights.</summary>
public sealed class LoadedCheckpoint : IDisposable
{
    public LoadedCheckpoint(Qwen25VlConfig config, Qwen2Tokenizer tokenizer, IReadOnlyDictionary<string, torch.Tensor> weights)
    {
        Config = config;
        Tokenizer = tokenizer;
        Weights = weights;
    }

    public Qwen25VlConfig Config { get; }

    public Qwen2Tokenizer Tokenizer { get; }

    /// <summary>Every tensor of <see cref="Qwen25VlCheckpointLayout.ExpectedShapes"/>, in the requested dtype and device.</summary>
    public IReadOnlyDictionary<string, torch.Tensor> Weights { get; }

    public void Dispose()
    {
        foreach (var tensor in Weights.Values)
        {
            tensor.Dispose();
        }
    }
}

/// <summary>Loads a Hugging Face Qwen2.5-VL checkpoint folder (UI-TARS-1.5 or the built-in tiny model).</summary>
public static class CheckpointLoader
{
    /// <summary>
    /// Reads <c>config.json</c> (+ <c>preprocessor_config.json</c>), <c>tokenizer.json</c>, and the safetensors
    /// weights (single file or sharded), converting them to <paramref name="dtype"/> on <paramref name="device"/>.
    /// </summary>
    /// <exception cref="ModelConfigException">The configuration is missing, broken, or not Qwen2.5-VL.</exception>
    /// <exception cref="TokenizerFormatException">The tokenizer file is missing or broken.</exception>
    /// <exception cref="CheckpointFormatException">A corrupt or truncated weights file or index, or a tokenizer whose ids disagree with the configuration.</exception>
    /// <exception cref="CheckpointMismatchException">Missing, unexpected or wrongly shaped tensors.</exception>
    public static LoadedCheckpoint Load(string folder, torch.ScalarType dtype, torch.Device device)
    {
        ArgumentNullException.ThrowIfNull(folder);
        var config = Qwen25VlConfig.LoadFromFolder(folder);
        var tokenizer = Qwen2Tokenizer.Load(folder);
        CheckTokenizer(Path.Combine(folder, Qwen2Tokenizer.FileName), config, tokenizer);
        var weights = CheckpointWeights.Load(folder, config, dtype, device);
        return new LoadedCheckpoint(config, tokenizer, weights);
    }

    /// <summary>
    /// The tokenizer must give the vision ids the configuration names, hold the chat template's <c>&lt;|im_end|&gt;</c>,
    /// and give no id beyond the vocabulary. The end tokens may be any ids of the vocabulary (the configuration checks
    /// that), as Hugging Face accepts.
    /// </summary>
    public static void CheckTokenizer(string tokenizerPath, Qwen25VlConfig config, Qwen2Tokenizer tokenizer)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(tokenizer);
        var named = new (string Token, int Id, string Field)[]
        {
            (Qwen25VlChatTemplate.VisionStart, config.Tokens.VisionStartTokenId, "vision_start_token_id"),
            (Qwen25VlChatTemplate.VisionEnd, config.Tokens.VisionEndTokenId, "vision_end_token_id"),
            (Qwen25VlChatTemplate.ImagePad, config.Tokens.ImageTokenId, "image_token_id"),
        };
        if (!tokenizer.AddedTokens.ContainsKey(Qwen25VlChatTemplate.ImEnd))
        {
            throw new CheckpointFormatException(tokenizerPath, $"has no added token {Qwen25VlChatTemplate.ImEnd}, which the chat template closes every turn with.");
        }

        foreach (var (token, id, field) in named)
        {
            if (!tokenizer.AddedTokens.TryGetValue(token, out var actual))
            {
                throw new CheckpointFormatException(tokenizerPath, $"has no added token {token}, which config.json's {field} ({id}) refers to.");
            }

            if (actual != id)
            {
                throw new CheckpointFormatException(tokenizerPath, $"gives {token} id {actual}, but config.json's {field} is {id}.");
            }
        }

        if (tokenizer.VocabularyCount > config.Text.VocabSize)
        {
            throw new CheckpointFormatException(tokenizerPath, $"has ids up to {tokenizer.VocabularyCount - 1}, beyond config.json's vocab_size {config.Text.VocabSize}.");
        }
    }
}
