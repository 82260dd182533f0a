using System.Text;
using StarKv.GpuWorker.Checkpoints;
using StarKv.GpuWorker.Model;
using StarKv.GpuWorker.TinyModel;

namespace StarKv.Bench;

/// <summary>
/// A benchmark model as a Hugging Face folder the runtime's own loader reads: the configuration's files, the built-in tiny
/// model's byte-level tokenizer and seeded random weights whose LM-head rows of the end tokens are zero, so greedy
/// decoding never stops early and every step decodes its full budget of new tokens.
/// </summary>
public static class RandomModelFolder
{
    /// <summary>Writes the folder and returns its path.</summary>
    public static string Write(string folder, Qwen25VlConfig config, int seed)
    {
        ArgumentNullException.ThrowIfNull(config);
        Directory.CreateDirectory(folder);
        File.WriteAllText(Path.Combine(folder, "config.json"), config.ToConfigJson(), Encoding.UTF8);
        File.WriteAllText(Path.Combine(folder, "preprocessor_config.json"), config.ToPreprocessorJson(), Encoding.UTF8);
        File.WriteAllText(Path.Combine(folder, "generation_config.json"), config.ToGenerationJson(), Encoding.UTF8);
        File.WriteAllText(Path.Combine(folder, "tokenizer.json"), TinyTokenizerFile.TokenizerJson(), Encoding.UTF8);
        File.WriteAllText(Path.Combine(folder, "tokenizer_config.json"), TinyTokenizerFile.TokenizerConfigJson(), Encoding.UTF8);
        var weights = TinyModelFolder.Weights(config, seed);
        try
        {
            var head = weights["lm_head.weight"]; // [vocab, hidden]
            foreach (var end in config.EndTokenIds)
            {
                head[end].zero_();
            }

            SafetensorsWriter.Write(Path.Combine(folder, CheckpointFiles.SingleFileName), weights, new Dictionary<string, string> { ["format"] = "pt" });
        }
        finally
        {
            foreach (var tensor in weights.Values)
            {
                tensor.Dispose();
            }
        }

        return folder;
    }
}
