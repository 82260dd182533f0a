using StarKv.AgentTraining.Model;
using StarKv.GpuWorker.Model;
using StarKv.GpuWorker.Text;
using StarKv.GpuWorker.TinyModel;
using TorchSharp;

namespace StarKv.AgentTraining.Tests;

/// <summary>The agent's architecture at smaller widths (fast enough for tests), its tokenizer, and a trainable model.</summary>
public sealed class SmallAgent : IDisposable
{
    public SmallAgent(int seed = 5)
    {
        var full = AgentModelDefinition.Config();
        Config = full with
        {
            Text = full.Text with { HiddenSize = 128, NumHiddenLayers = 2, IntermediateSize = 256, MropeSection = [4, 6, 6] },
            Vision = full.Vision with { Depth = 2, HiddenSize = 64, NumHeads = 1, IntermediateSize = 128, FullAttentionBlockIndexes = [1], OutHiddenSize = 128 },
        };
        TokenizerJson = TinyTokenizerFile.TokenizerJson(AgentModelDefinition.TokenizerCorpus(tasks: 100));
        Tokenizer = Qwen2Tokenizer.Parse(TokenizerJson);
        var weights = TinyModelFolder.Weights(Config, seed);
        Model = Qwen25VlModel.Load(Config, weights, torch.CPU, torch.ScalarType.Float32, trainable: true);
        foreach (var tensor in weights.Values)
        {
            tensor.Dispose();
        }
    }

    public Qwen25VlConfig Config { get; }

    public string TokenizerJson { get; }

    public Qwen2Tokenizer Tokenizer { get; }

    public Qwen25VlModel Model { get; }

    public void Dispose() => Model.Dispose();
}
