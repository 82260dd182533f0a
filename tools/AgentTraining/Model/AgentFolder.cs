using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using StarKv.GpuWorker.Checkpoints;
using StarKv.GpuWorker.Model;
using StarKv.GpuWorker.TinyModel;
using TorchSharp;

namespace StarKv.AgentTraining.Model;

/// <summary>
/// Writes a model as a Hugging Face checkpoint folder that <see cref="CheckpointLoader"/> reads like a real one:
/// <c>config.json</c>, <c>preprocessor_config.json</c>, <c>generation_config.json</c>, <c>tokenizer.json</c>,
/// <c>tokenizer_config.json</c>, <c>model.safetensors</c> (every weight under its canonical name and checkpoint shape,
/// float32), and <c>training.json</c> with what produced it.
/// </summary>
public static class AgentFolder
{
    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    public static void Write(string folder, Qwen25VlModel model, string tokenizerJson, JsonObject? training = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(folder);
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(tokenizerJson);
        Directory.CreateDirectory(folder);
        var config = model.Config;
        WriteText(folder, "config.json", config.ToConfigJson());
        WriteText(folder, "preprocessor_config.json", config.ToPreprocessorJson());
        WriteText(folder, "generation_config.json", config.ToGenerationJson());
        WriteText(folder, "tokenizer.json", tokenizerJson);
        WriteText(folder, "tokenizer_config.json", TinyTokenizerFile.TokenizerConfigJson());
        if (training is not null)
        {
            WriteText(folder, "training.json", training.ToJsonString(Indented));
        }

        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        var tensors = model.Weights
            .Select(w => KeyValuePair.Create(w.Name, w.Tensor.detach().to(torch.ScalarType.Float32).reshape([.. w.CheckpointShape]).contiguous()))
            .ToList();
        var path = Path.Combine(folder, CheckpointFiles.SingleFileName);
        var temporary = path + ".tmp";
        SafetensorsWriter.Write(temporary, tensors, new Dictionary<string, string> { ["format"] = "pt" });
        File.Move(temporary, path, overwrite: true);
    }

    private static void WriteText(string folder, string name, string text)
    {
        var path = Path.Combine(folder, name);
        File.WriteAllText(path + ".tmp", text.EndsWith('\n') ? text : text + "\n", new UTF8Encoding(false));
        File.Move(path + ".tmp", path, overwrite: true);
    }
}
