using StarKv.Bench;
using StarKv.GpuWorker.Model;
using StarKv.GpuWorker.TinyModel;

namespace StarKv.StepCost.Bench;

/// <summary>
/// The benchmark's model: Qwen2.5-VL's architecture with random weights at a hidden size of 1024 (4 text layers, 16 query
/// heads over 8 KV heads of 64, MLP 5504; a 4-block vision encoder of hidden 512 with 112-pixel windows), the built-in tiny
/// model's byte-level tokenizer (vocabulary 640) and a screenshot budget of 512 merged tokens, so a 1280 × 720 screenshot
/// becomes 30 × 17 = 510 vision tokens. Written as a Hugging Face folder and loaded by the runtime's own loader. The LM
/// head's rows of the end tokens are zero, so greedy decoding of random weights never stops early (every step decodes
/// its full budget of new tokens).
/// </summary>
public static class BenchModel
{
    public const int Seed = 1024;

    public static Qwen25VlConfig Config()
    {
        var tiny = TinyModelConfig.Create();
        return tiny with
        {
            Text = tiny.Text with
            {
                HiddenSize = 1024,
                NumHiddenLayers = 4,
                NumAttentionHeads = 16,
                NumKeyValueHeads = 8,
                IntermediateSize = 5504,
                MropeSection = [8, 12, 12],
            },
            Vision = tiny.Vision with
            {
                Depth = 4,
                HiddenSize = 512,
                NumHeads = 8,
                IntermediateSize = 1376,
                WindowSize = 112,
                FullAttentionBlockIndexes = [1, 3],
                OutHiddenSize = 1024,
            },
            Image = tiny.Image with { MinPixels = 56 * 56, MaxPixels = 28 * 28 * 512 },
        };
    }

    /// <summary>Writes the model folder and returns its path.</summary>
    public static string Write(string folder) => RandomModelFolder.Write(folder, Config(), Seed);
}
