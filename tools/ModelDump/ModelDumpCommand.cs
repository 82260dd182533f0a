using System.CommandLine;
using StarKv.GpuWorker.Diagnostics;
using StarKv.GpuWorker.TinyModel;
using TorchSharp;

namespace StarKv.ModelDump;

/// <summary>The <c>ModelDump</c> command line: its options, validation and action.</summary>
internal static class ModelDumpCommand
{
    /// <summary>The root command, writing its report to <paramref name="output"/> and its errors to <paramref name="error"/>.</summary>
    public static RootCommand Create(TextWriter output, TextWriter error)
    {
        var model = new Option<DirectoryInfo?>("--model") { Description = "A Hugging Face Qwen2.5-VL checkpoint folder (config.json, tokenizer.json, safetensors)." };
        var tiny = new Option<bool>("--tiny") { Description = "Use the built-in tiny model (written to a temp folder) instead of --model." };
        var image = new Option<FileInfo?>("--image") { Description = "The screenshot (PNG or JPEG); leave it out for a text-only prompt." };
        var text = new Option<string>("--text") { Description = "The instruction, placed after the image (if any) in the user turn.", Required = true };
        var outDir = new Option<DirectoryInfo>("--out") { Description = "The folder to write logits.npy, hidden_state_{i}.npy and inputs.json into.", Required = true };
        var hidden = new Option<bool>("--hidden-states") { Description = "Also write every hidden state (transformers' hidden_states)." };
        var device = new Option<string>("--device") { Description = "cpu, cuda or cuda:N.", DefaultValueFactory = _ => "cpu" };

        var root = new RootCommand("Dumps the last position's logits of a single-turn prompt, with a screenshot or text only (and optionally the hidden states), as .npy files.")
        {
            model, tiny, image, text, outDir, hidden, device,
        };
        root.Validators.Add(result =>
        {
            if ((result.GetValue(model) is null) == !result.GetValue(tiny))
            {
                result.AddError("Give exactly one of --model <folder> and --tiny.");
            }
        });
        root.SetAction(parse =>
        {
            var folder = parse.GetValue(model)?.FullName;
            if (folder is null)
            {
                folder = Path.Combine(Path.GetTempPath(), $"starkv-tiny-model-{TinyModelFolder.DefaultSeed}");
                TinyModelFolder.EnsureWritten(folder, TinyModelFolder.DefaultSeed);
            }

            var imageFile = parse.GetValue(image);
            if (imageFile is { Exists: false })
            {
                error.WriteLine($"No image at {imageFile.FullName}.");
                return 2;
            }

            var bytes = imageFile is null ? null : File.ReadAllBytes(imageFile.FullName);
            var result = LogitsDump.Run(
                folder, bytes, parse.GetValue(text)!, parse.GetValue(outDir)!.FullName, parse.GetValue(hidden), new torch.Device(parse.GetValue(device)!));
            output.WriteLine(result.Grid is { } grid
                ? $"{result.InputIds.Count} input tokens, image grid (t, h, w) = ({grid.T}, {grid.H}, {grid.W})"
                : $"{result.InputIds.Count} input tokens, text only");
            foreach (var file in result.Files)
            {
                output.WriteLine(file);
            }

            return 0;
        });
        return root;
    }
}
