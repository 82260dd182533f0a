using System.Text.Json.Nodes;
using StarKv.AgentTraining.Training;
using StarKv.GpuWorker.Checkpoints;
using StarKv.GpuWorker.Model;
using TorchSharp;

namespace StarKv.AgentTraining.Model;

/// <summary>
/// Ships a run: its last saved state written as a Hugging Face folder by the current code (<see cref="AgentFolder"/>),
/// with <c>training.json</c> (the run's command, seeds and settings from <c>run.json</c>, the steps done, the code's
/// commit, the last validation), the training curve and the log.
/// </summary>
public static class AgentExport
{
    public static JsonObject Write(string runFolder, string outFolder)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(runFolder);
        ArgumentException.ThrowIfNullOrWhiteSpace(outFolder);
        var statePath = Path.Combine(runFolder, "state");
        var stateFile = Path.Combine(statePath, "state.json");
        if (!File.Exists(stateFile))
        {
            throw new FileNotFoundException($"The run folder '{runFolder}' has no saved state (state/state.json).", stateFile);
        }

        var step = JsonNode.Parse(File.ReadAllText(stateFile))!["step"]!.GetValue<int>();
        var runFile = Path.Combine(runFolder, TrainingRun.RunFileName);
        var training = File.Exists(runFile) ? JsonNode.Parse(File.ReadAllText(runFile))!.AsObject() : [];
        training["steps_done"] = step;
        var log = new TrainingLog(runFolder);
        if (log.Read().LastOrDefault(e => e.Validation is not null) is { Validation: { } last } entry)
        {
            training["last_validation"] = new JsonObject
            {
                ["step"] = entry.Step + 1,
                ["grounding"] = last.Grounding,
                ["memory"] = last.Memory,
                ["action"] = last.Action,
                ["tasks"] = last.Tasks,
                ["note"] = "greedy decoding through agent sessions, full cache, on validation-stream tasks of the training split (indices from 1e9, never trained on)",
            };
        }

        using (var saved = CheckpointLoader.Load(statePath, torch.ScalarType.Float32, torch.CPU))
        using (var model = Qwen25VlModel.Load(saved.Config, saved.Weights, torch.CPU, torch.ScalarType.Float32))
        {
            AgentFolder.Write(outFolder, model, File.ReadAllText(Path.Combine(runFolder, "tokenizer.json")), training);
        }

        log.PlotCurve();
        if (File.Exists(log.CurvePath))
        {
            File.Copy(log.CurvePath, Path.Combine(outFolder, "training-curve.png"), overwrite: true);
        }

        File.Copy(Path.Combine(runFolder, "training-log.jsonl"), Path.Combine(outFolder, "training-log.jsonl"), overwrite: true);
        return training;
    }
}
