using StarKv.Bench;
using StarKv.GpuWorker.Model;
using StarKv.GpuWorker.TinyModel;

namespace StarKv.Batching.Bench;

/// <summary>
/// The benchmark's model: Qwen2.5-VL's architecture with random weights, sized so that reading the weights dominates a
/// decode token on the CPU: 8 text layers of hidden 1024 (16 query heads over 4 KV heads of 64, MLP 4096), about 121M
/// text parameters (484 MB in fp32); a 2-block vision encoder of hidden 256; the built-in tiny model's byte-level
/// tokenizer (vocabulary 640). The LM head's rows of the end tokens are zero, so greedy decoding never stops early and
/// every step decodes its full budget of new tokens (bench/Shared/RandomModelFolder.cs).
/// </summary>
public static class BenchModel
{
    public const int Seed = 15;

    public static Qwen25VlConfig Config()
    {
        var tiny = TinyModelConfig.Create();
        return tiny with
        {
            Text = tiny.Text with
            {
                HiddenSize = 1024,
                NumHiddenLayers = 8,
                NumAttentionHeads = 16,
                NumKeyValueHeads = 4,
                IntermediateSize = 4096,
                MropeSection = [8, 12, 12],
            },
            Vision = tiny.Vision with
            {
                Depth = 2,
                HiddenSize = 256,
                NumHeads = 4,
                IntermediateSize = 512,
                WindowSize = 112,
                FullAttentionBlockIndexes = [1],
                OutHiddenSize = 1024,
            },
            Image = tiny.Image with { MinPixels = 56 * 56, MaxPixels = 28 * 28 * 64 },
        };
    }

    /// <summary>Text parameters (embeddings, layers, LM head): what one decode token reads.</summary>
    public static long TextParameters()
    {
        var t = Config().Text;
        long h = t.HiddenSize, q = (long)t.NumAttentionHeads * t.HeadDim, kv = (long)t.NumKeyValueHeads * t.HeadDim;
        var layer = (h * q) + q + (2 * ((h * kv) + kv)) + (q * h) + (3 * h * t.IntermediateSize) + (2 * h);
        return (t.NumHiddenLayers * layer) + (2 * t.VocabSize * h) + h;
    }

    /// <summary>Writes the model folder and returns its path.</summary>
    public static string Write(string folder) => RandomModelFolder.Write(folder, Config(), Seed);
}
