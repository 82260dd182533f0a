using StarKv.GpuWorker.Model;
using StarKv.GpuWorker.TinyModel;
using StarKv.GpuWorker.Text;
using StarKv.SyntheticGui.Tasks;

namespace StarKv.AgentTraining.Model;

/// <summary>
/// The trained tiny GUI agent's architecture: Qwen2.5-VL at toy sizes, chosen to learn on a CPU in hours.
/// Text: 4 layers, hidden 256, 4 query heads over 2 KV heads (GQA), head dimension 64 with <c>mrope_section</c>
/// [8, 12, 12] (Qwen2.5-VL's 16/24/24 of 64 pairs, scaled to 32 pairs), SwiGLU 768, untied LM head, rope θ 10,000
/// (sequences are short; a smaller θ leaves the height and width sections some rotation over a few cells).
/// Vision: 4 blocks of hidden 128 (2 heads of 64), windows of 112 pixels (4×4 merged cells) with full attention in
/// blocks 1 and 3, 2×2 patch merger to 256. Images: at most 128 merged tokens (the suite's screens are 84–99).
/// Vocabulary: a byte-level BPE of 600 tokens learned from the UI-TARS prompts and the suite's texts, then Qwen2's
/// added tokens, 640 in all.
/// </summary>
public static class AgentModelDefinition
{
    public const int MaxImageTokens = 128;

    public static Qwen25VlConfig Config()
    {
        var tiny = TinyModelConfig.Create();
        return tiny with
        {
            Text = tiny.Text with
            {
                HiddenSize = 256,
                NumHiddenLayers = 4,
                NumAttentionHeads = 4,
                NumKeyValueHeads = 2,
                IntermediateSize = 768,
                RopeTheta = 10_000,
                MropeSection = [8, 12, 12],
            },
            Vision = tiny.Vision with
            {
                Depth = 4,
                HiddenSize = 128,
                NumHeads = 2,
                IntermediateSize = 256,
                WindowSize = 112,
                FullAttentionBlockIndexes = [1, 3],
                OutHiddenSize = 256,
            },
            Image = tiny.Image with { MinPixels = 28 * 28 * 16, MaxPixels = 28 * 28 * MaxImageTokens },
        };
    }

    /// <summary>
    /// The texts the tokenizer's merges are learned from: the tiny model's corpus (UI-TARS prompts and replies) and the
    /// instructions and replies of the first <paramref name="tasks"/> training tasks.
    /// </summary>
    public static IEnumerable<string> TokenizerCorpus(int tasks = 3000)
    {
        foreach (var text in TinyCorpus.Texts)
        {
            yield return text;
        }

        var options = new SuiteOptions();
        for (var i = 0; i < tasks; i++)
        {
            var task = TaskGenerator.Generate(SuiteSeeds.For(SuiteSplit.Train, i), options);
            for (var s = 0; s < task.Steps.Count; s++)
            {
                var step = task.Steps[s];
                yield return s == 0 ? AgentTurns.TaskPrompt(task.TaskText, step.Instruction) : step.Instruction;
                yield return step.Reply(step.Screen.Width, step.Screen.Height);
            }
        }
    }
}
