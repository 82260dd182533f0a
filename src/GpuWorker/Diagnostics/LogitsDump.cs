using System.Text.Json;
using StarKv.GpuWorker.Images;
using StarKv.GpuWorker.Model.Positions;
using StarKv.GpuWorker.Numpy;
using StarKv.GpuWorker.Runtime;
using StarKv.GpuWorker.Text;
using TorchSharp;

namespace StarKv.GpuWorker.Diagnostics;

/// <summary>What a <see cref="LogitsDump"/> run wrote.</summary>
/// <param name="InputIds">The prompt's token ids.</param>
/// <param name="Grid">The screenshot's patch grid (before the 2×2 merge); null for a text-only prompt.</param>
/// <param name="Files">Every file written, full paths.</param>
public sealed record LogitsDumpResult(IReadOnlyList<int> InputIds, GridThw? Grid, IReadOnlyList<string> Files);

/// <summary>
/// Dumps what the model computes for one screenshot (or none) and one instruction, for comparison with the Python
/// reference (transformers' <c>Qwen2_5_VLForConditionalGeneration</c> on the same prompt): the prompt is the chat
/// template's single turn (<see cref="Qwen25VlChatTemplate.SingleTurn"/>: system, user turn with the image then the
/// text, generation prompt; <see cref="Qwen25VlChatTemplate.SingleTextTurn"/> without an image), prefilled from
/// position 0 without compression.
/// Files: <c>logits.npy</c> (fp32 <c>[vocab]</c>, the last position), when hidden states are asked for
/// <c>hidden_state_{i}.npy</c> for i = 0..layers (transformers' <c>hidden_states</c>: the embeddings, each layer's
/// output, the last one normalised; fp32 <c>[T, hidden]</c>), and <c>inputs.json</c> (<c>input_ids</c>,
/// <c>image_grid_thw</c> (empty without an image), the original and resized sizes (null without an image), the text).
/// </summary>
public static class LogitsDump
{
    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    /// <param name="modelFolder">A Hugging Face checkpoint folder.</param>
    /// <param name="image">PNG or JPEG bytes of the screenshot; null for a text-only prompt.</param>
    /// <param name="text">The instruction.</param>
    /// <param name="outDir">Where the files go.</param>
    /// <param name="hiddenStates">Whether to write every hidden state too.</param>
    /// <param name="device">The device to run on.</param>
    public static LogitsDumpResult Run(string modelFolder, byte[]? image, string text, string outDir, bool hiddenStates, torch.Device device)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentException.ThrowIfNullOrWhiteSpace(outDir);
        using var runtime = Qwen25VlRuntime.LoadFolder(modelFolder, "dump", device, torch.ScalarType.Float32);
        return Run(runtime, image, text, outDir, hiddenStates);
    }

    /// <summary>The same dump on an already loaded runtime (its dtype); <paramref name="image"/> null for a text-only prompt.</summary>
    public static LogitsDumpResult Run(Qwen25VlRuntime runtime, byte[]? image, string text, string outDir, bool hiddenStates)
    {
        ArgumentNullException.ThrowIfNull(runtime);
        ArgumentNullException.ThrowIfNull(text);
        ArgumentException.ThrowIfNullOrWhiteSpace(outDir);
        var model = runtime.Model;
        var config = runtime.Config;
        using var noGrad = torch.no_grad();
        using var processed = image is null ? null : Qwen2VlImageProcessor.Process(image, config.Image, model.Device);
        var merge = config.Vision.SpatialMergeSize;
        var prompt = processed is null
            ? Qwen25VlChatTemplate.SingleTextTurn(text)
            : Qwen25VlChatTemplate.SingleTurn(text, processed.Grid.MergedTokenCount(merge));
        var ids = runtime.Tokenizer.Encode(prompt);
        GridThw[] grids = processed is null ? [] : [processed.Grid];
        using var features = processed is null ? null : model.EncodeImage(processed.Patches, processed.Grid); // [V, hidden]
        using var positions = MropePositions.ForTurn(ids, config.Tokens.ImageTokenId, grids, merge, 0);
        var bookkeeping = MropePositions.Bookkeeping(ids, config.Tokens.ImageTokenId, grids, merge, 0, 0);
        using var cache = model.NewCache();
        var states = new List<torch.Tensor>();
        try
        {
            using var logits = model.Prefill(ids, features, positions, bookkeeping, cache, hiddenStates: hiddenStates ? states : null); // [vocab]
            Directory.CreateDirectory(outDir);
            var files = new List<string>();
            var logitsPath = Path.Combine(outDir, "logits.npy");
            NpyFile.Write(logitsPath, logits);
            files.Add(logitsPath);
            for (var i = 0; i < states.Count; i++)
            {
                var path = Path.Combine(outDir, $"hidden_state_{i}.npy");
                using var fp32 = states[i].to(torch.ScalarType.Float32);
                NpyFile.Write(path, fp32);
                files.Add(path);
            }

            var inputsPath = Path.Combine(outDir, "inputs.json");
            var inputs = new
            {
                input_ids = ids,
                image_grid_thw = grids.Select(g => new[] { g.T, g.H, g.W }).ToArray(),
                original_size = processed is null ? null : new { width = processed.OriginalWidth, height = processed.OriginalHeight },
                resized_size = processed is null ? null : new { width = processed.ResizedWidth, height = processed.ResizedHeight },
                text,
                model_fingerprint = runtime.Fingerprint,
            };
            File.WriteAllText(inputsPath, JsonSerializer.Serialize(inputs, Indented));
            files.Add(inputsPath);
            return new LogitsDumpResult(ids, processed?.Grid, files);
        }
        finally
        {
            states.ForEach(s => s.Dispose());
        }
    }
}
